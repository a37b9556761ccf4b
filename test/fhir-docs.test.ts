/** docs/FHIR.md embeds a complete example Bundle: keep it identical to what the writer builds, and valid. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';
import { buildBundle, bundleIssues, examplePrediction } from '@ecgcad/fhir-writer';
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
