import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';
import { PermanentError } from '@ecgcad/ecg';
import type { Bundle } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildBundle } from './bundle.js';
import { examplePrediction } from './example.js';
import { bundleIssues, FhirValidationError, structuralIssues, validateBundle } from './validate.js';

/** A fresh valid Bundle: Device, ECG, RiskAssessment, 4 vessel Observations, Flag, Provenance. */
function fresh(): Bundle {
  return buildBundle(examplePrediction({ probabilities: [0.08, 0.05, 0.52, 0.2] }));
}

// biome-ignore lint/suspicious/noExplicitAny: tests mutate the JSON freely
function entryResource(bundle: Bundle, i: number): any {
  return bundle.entry?.[i]?.resource;
}

// biome-ignore lint/suspicious/noExplicitAny: tests mutate the JSON freely
function broken(mutate: (entries: any[]) => void): string[] {
  const bundle = fresh();
  mutate(bundle.entry ?? []);
  return bundleIssues(bundle);
}

describe('bundleIssues', () => {
  it('accepts what the builder makes', () => {
    expect(bundleIssues(fresh())).toEqual([]);
    expect(() => validateBundle(fresh())).not.toThrow();
  });

  it('finds R4 structure errors (unknown element, wrong type)', () => {
    expect(broken((e) => (e[2].resource.bogus = 1)).join('\n')).toMatch(/entry\[2\] RiskAssessment.*bogus/);
    expect(broken((e) => (e[2].resource.occurrenceDateTime = 42)).length).toBeGreaterThan(0);
  });

  it('finds probabilities outside [0, 1] (which R4 validation lets through)', () => {
    const b = fresh();
    entryResource(b, 2).prediction[0].probabilityDecimal = 1.5;
    expect(structuralIssues(b.entry?.[2]?.resource as never)).toEqual([]);
    expect(bundleIssues(b)).toEqual(['entry[2] RiskAssessment prediction[0]: probability must be in [0, 1]']);
    expect(broken((e) => (e[3].resource.component[0].valueQuantity.value = -0.1))).toEqual([
      'entry[3] Observation component[0]: probability must be in [0, 1]',
    ]);
  });

  it('finds codes outside the bound systems', () => {
    expect(broken((e) => (e[2].resource.prediction[1].qualitativeRisk.coding[0].code = 'severe'))).toEqual([
      'entry[2] RiskAssessment prediction[1] qualitativeRisk: code is not in http://terminology.hl7.org/CodeSystem/risk-probability',
    ]);
    expect(broken((e) => (e[2].resource.prediction[1].outcome.coding[0].code = 'PDA'))[0]).toMatch(
      /outcome must carry a code/,
    );
    expect(broken((e) => (e[5].resource.valueCodeableConcept.coding[0].code = 'severe'))[0]).toMatch(
      /must carry a stratum/,
    );
    expect(broken((e) => (e[5].resource.valueCodeableConcept.coding[1].code = 'low'))[0]).toMatch(
      /risk-probability code must be high for stratum high/,
    );
  });

  it('finds references that do not resolve inside the Bundle', () => {
    expect(
      broken((e) => (e[3].resource.derivedFrom[0].reference = 'urn:uuid:00000000-0000-4000-8000-000000000000')),
    ).toEqual([
      'entry[3] Observation: reference urn:uuid:00000000-0000-4000-8000-000000000000 does not resolve to an entry of the Bundle',
    ]);
  });

  it('finds creates that are not conditional, or whose condition is not their identifier', () => {
    expect(broken((e) => delete e[4].request.ifNoneExist)).toEqual([
      'entry[4] Observation: request.ifNoneExist is missing (every create must be conditional)',
    ]);
    expect(broken((e) => (e[8].request.ifNoneExist = 'identifier=x|y'))[0]).toMatch(/does not match an identifier/);
    expect(broken((e) => (e[0].request.method = 'PUT'))[0]).toMatch(/POST/);
    expect(broken((e) => (e[1].fullUrl = e[0].fullUrl)).join('\n')).toMatch(/duplicate fullUrl/);
  });

  it('finds AI-produced resources without the AIAST label', () => {
    expect(broken((e) => delete e[7].resource.meta)).toEqual([
      'entry[7] Flag: AI-produced resource lacks meta.security http://terminology.hl7.org/CodeSystem/v3-ObservationValue#AIAST',
    ]);
  });

  it('throws one FhirValidationError (a PermanentError) listing every issue', () => {
    const b = fresh();
    const ra = entryResource(b, 2);
    ra.prediction[0].probabilityDecimal = 2;
    delete ra.meta;
    let caught: unknown;
    try {
      validateBundle(b);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FhirValidationError);
    expect(caught).toBeInstanceOf(PermanentError);
    expect((caught as FhirValidationError).issues).toHaveLength(2);
    expect((caught as Error).message).not.toContain('MRN-000123');
  });
});

describe('the independent JSON-schema validator', () => {
  const schema = new JSONSchemaValidator();
  it('agrees the Bundle is valid, and does reject a broken one (so its agreement means something)', () => {
    expect(schema.validate(fresh())).toEqual([]);
    const b = fresh();
    entryResource(b, 2).prediction[0].probabilityDecimal = 'high';
    expect(schema.validate(b).length).toBeGreaterThan(0);
  });
});
