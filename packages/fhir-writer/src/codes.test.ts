import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CodeSystem, Coding } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildBundle } from './bundle.js';
import { ECGCAD_FHIR_BASE, projectCodeSystems } from './codes.js';
import { examplePrediction, examplePtpAssessment } from './example.js';
import { structuralIssues } from './validate.js';

const docsDir = fileURLToPath(new URL('../../../docs/fhir/', import.meta.url));

function codingsIn(value: unknown, out: Coding[] = []): Coding[] {
  if (Array.isArray(value)) for (const v of value) codingsIn(v, out);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.system === 'string' && typeof o.code === 'string') out.push(o as Coding);
    for (const v of Object.values(o)) codingsIn(v, out);
  }
  return out;
}

describe('project CodeSystems', () => {
  it('are published unchanged under docs/fhir/ (regenerate them when codes change)', () => {
    for (const cs of projectCodeSystems()) {
      const published = JSON.parse(readFileSync(`${docsDir}CodeSystem-${cs.id}.json`, 'utf8')) as CodeSystem;
      expect(published).toEqual(cs);
    }
  });

  it('are valid R4 CodeSystems with unique codes', () => {
    for (const cs of projectCodeSystems()) {
      expect(structuralIssues(cs)).toEqual([]);
      const codes = (cs.concept ?? []).map((c) => c.code);
      expect(new Set(codes).size).toBe(codes.length);
      expect(cs.count).toBe(codes.length);
    }
  });

  it('define every project code the Bundles use, with the same display', () => {
    const concepts = new Map<string, string | undefined>();
    for (const cs of projectCodeSystems())
      for (const c of cs.concept ?? []) concepts.set(`${cs.url}#${c.code}`, c.display);
    const bundles = [
      buildBundle(examplePrediction({ probabilities: [0.9, 0.2, 0.05, 0.5] })),
      buildBundle(examplePrediction({ notAnalysable: ['flat lead'] })),
      buildBundle(examplePrediction(), {}, examplePtpAssessment()),
    ];
    const used = bundles
      .flatMap((b) => codingsIn(b))
      .filter((c) => c.system?.startsWith(`${ECGCAD_FHIR_BASE}/CodeSystem/`));
    expect(used.length).toBeGreaterThan(10);
    for (const c of used) {
      expect(concepts.has(`${c.system}#${c.code}`), `${c.system}#${c.code}`).toBe(true);
      expect(c.display).toBe(concepts.get(`${c.system}#${c.code}`));
    }
  });
});
