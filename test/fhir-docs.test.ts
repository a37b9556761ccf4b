/** docs/FHIR.md embeds a complete example Bundle: keep it identical to what the writer builds, and valid. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';
import {
  buildBundle,
  buildBundleParts,
  bundleIssues,
  examplePrediction,
  examplePtpAssessment,
} from '@ecgcad/fhir-writer';
import type { Bundle } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(fileURLToPath(new URL('../docs/FHIR.md', import.meta.url)), 'utf8');

function exampleFromDoc(): Bundle {
  const m = /<!-- example-bundle:start -->\s*```json\n([\s\S]*?)\n```\s*<!-- example-bundle:end -->/.exec(doc);
  if (!m?.[1]) throw new Error('docs/FHIR.md has no example Bundle between the markers');
  return JSON.parse(m[1]) as Bundle;
}

describe('docs/FHIR.md example Bundle', () => {
  it('is what buildBundle(examplePrediction()) produces', () => {
    expect(exampleFromDoc()).toEqual(buildBundle(examplePrediction()));
  });
  it('validates (R4 + project checks + JSON schema)', () => {
    const bundle = exampleFromDoc();
    expect(bundleIssues(bundle)).toEqual([]);
    expect(new JSONSchemaValidator().validate(bundle)).toEqual([]);
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'Device',
      'Observation',
      'RiskAssessment',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Flag',
      'Provenance',
    ]);
  });
});

describe('docs/FHIR.md PTP example', () => {
  const m = /<!-- example-ptp:start -->\s*```json\n([\s\S]*?)\n```\s*<!-- example-ptp:end -->/.exec(doc);
  const { bundle, parts } = buildBundleParts(examplePrediction(), {}, examplePtpAssessment());
  const entryOf = (r: unknown) => bundle.entry?.find((e) => e.resource === r);

  it('is the PTP entry and the LAD vessel Observation that the writer builds', () => {
    if (!m?.[1]) throw new Error('docs/FHIR.md has no PTP example between the markers');
    const lad = parts.vessels.find((o) => o.code.coding?.some((c) => c.code === 'LAD-risk-stratum'));
    expect(JSON.parse(m[1])).toEqual([entryOf(parts.ptp), entryOf(lad)]);
  });

  it('comes from a Bundle that validates (R4 + project checks + JSON schema)', () => {
    expect(bundleIssues(bundle)).toEqual([]);
    expect(new JSONSchemaValidator().validate(bundle)).toEqual([]);
  });
});
