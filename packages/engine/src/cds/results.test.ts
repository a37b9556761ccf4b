import { buildBundleParts, examplePrediction, examplePtpAssessment } from '@ecgcad/fhir-writer';
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { asStored } from '../../../../test/support/cds-support.js';
import { ecgResults, observationId } from './results.js';

describe('ecgResults', () => {
  it('reads a scored ECG with its PTP and combined categories back from what the writer wrote', () => {
    const prediction = examplePrediction();
    const { bundle, parts } = buildBundleParts(prediction, {}, examplePtpAssessment(prediction));
    const [result, ...rest] = ecgResults(asStored(bundle));
    expect(rest).toHaveLength(0);
    expect(result?.ecgId).toBe(bundle.entry?.find((e) => e.resource === parts.ecg)?.fullUrl?.slice(9));
    expect(result?.status).toBe('scored');
    expect(result?.acquiredAt).toBe('2026-11-26T08:59:40+01:00');
    expect(result?.model).toBe('ecgcad-demo 1.0.0');
    expect(result?.notForClinicalUse).toMatch(/not for clinical use/);
    expect(result?.vessels.map((v) => [v.vessel, v.stratum, v.probability])).toEqual([
      ['RCA', 'low', 0.08],
      ['LM', 'low', 0.05],
      ['LAD', 'high', 0.52],
      ['LCx', 'intermediate', 0.2],
    ]);
    expect(result?.vessels.every((v) => v.combined !== undefined)).toBe(true);
    expect(result?.ptp).toMatchObject({ status: 'final', category: 'ESC 2024 RF-CL: moderate (34 %)' });
    expect(result?.ptp?.probability).toBeCloseTo(0.339842, 6);
  });

  it('reads a not-analysable ECG with its reasons', () => {
    const { bundle } = buildBundleParts(examplePrediction({ notAnalysable: ['lead V2 is flat', 'too short'] }));
    expect(ecgResults(asStored(bundle))).toMatchObject([
      { status: 'not-analysable', vessels: [], reasons: ['lead V2 is flat', 'too short'] },
    ]);
  });

  it('keeps ECGs apart, ignores other Observations and results with no ECG reference', () => {
    const a = asStored(buildBundleParts(examplePrediction({ ecgId: '1.2.3.1' })).bundle);
    const b = asStored(
      buildBundleParts(examplePrediction({ ecgId: '1.2.3.2', probabilities: [0.5, 0.5, 0.5, 0.5] })).bundle,
    );
    const orphan = { ...(a.find((r) => r.resourceType === 'Observation' && 'valueCodeableConcept' in r) as Resource) };
    delete (orphan as { derivedFrom?: unknown }).derivedFrom;
    const results = ecgResults([...a, ...b, orphan, { resourceType: 'Patient', id: 'p' }]);
    expect(results).toHaveLength(2);
    expect(results.map((r) => r.vessels.filter((v) => v.stratum === 'high').length).sort()).toEqual([1, 4]);
  });

  it('takes the logical id out of relative, absolute and versioned references', () => {
    expect(observationId('Observation/abc-1')).toBe('abc-1');
    expect(observationId('https://ehr.example.org/fhir/Observation/abc')).toBe('abc');
    expect(observationId('Observation/abc/_history/3')).toBe('abc');
    expect(observationId('urn:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0')).toBeUndefined();
    expect(observationId('Patient/abc')).toBeUndefined();
  });
});
