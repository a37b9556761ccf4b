import { buildBundleParts, examplePrediction, examplePtpAssessment } from '@ecgcad/fhir-writer';
import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { sortRelated, type WorklistRow, worklistRow } from './worklist-model.js';

/** The row of a Bundle the real writer builds. */
function rowOf(parts: ReturnType<typeof buildBundleParts>['parts']): WorklistRow {
  return worklistRow({
    ecg: { ...parts.ecg, id: 'ecg-1' },
    ...sortRelated([...parts.vessels, ...(parts.notAnalysable ? [parts.notAnalysable] : [])]),
    ...(parts.riskAssessment ? { riskAssessment: parts.riskAssessment } : {}),
    ...(parts.ptp ? { ptp: parts.ptp } : {}),
  });
}

describe('worklist rows from the resources the writer builds', () => {
  it('reads strata, probabilities, the combined category and the PTP of a scored ECG', () => {
    const prediction = examplePrediction();
    const { parts } = buildBundleParts(prediction, {}, examplePtpAssessment(prediction));
    const row = rowOf(parts);
    expect(row.vessels.map((v) => [v.vessel, v.stratum, v.probability])).toEqual([
      ['RCA', 'low', 0.08],
      ['LM', 'low', 0.05],
      ['LAD', 'high', 0.52],
      ['LCx', 'intermediate', 0.2],
    ]);
    expect(row.anyHigh).toBe(true);
    expect(row.pending).toBe(false);
    expect(row.vessels.every((v) => typeof v.combined === 'string' && v.combined.length > 0)).toBe(true);
    expect(row.ptp?.status).toBe('computed');
    expect(row.ptp?.probability).toBeGreaterThan(0);
    expect(row.ptp?.category).toBeTruthy();
    expect(row.acquiredAt).toBe(prediction.ecg.acquiredAt);
  });

  it('says why the PTP was not computed, and that no combined category exists', () => {
    const prediction = examplePrediction();
    const { parts } = buildBundleParts(prediction, {}, {
      status: 'not-computed',
      model: 'esc2024',
      missing: [{ input: 'smoking', reason: 'no smoking status Observation on or before the ECG' }],
      basis: [],
    } as never);
    const row = rowOf(parts);
    expect(row.ptp?.status).toBe('not-computed');
    expect(row.ptp?.notes.join(' ')).toMatch(/smoking/);
    expect(row.vessels[0]?.combined).toBeUndefined();
    expect(row.vessels[0]?.combinedMissing).toMatch(/No combined category/);
  });

  it('gives a not-analysable ECG its reasons and no score', () => {
    const { parts } = buildBundleParts(examplePrediction({ notAnalysable: ['baseline wander', 'lead off'] }));
    const row = rowOf(parts);
    expect(row.notAnalysable?.reasons).toEqual(['baseline wander', 'lead off']);
    expect(row.vessels.every((v) => v.stratum === undefined)).toBe(true);
    expect(row.anyHigh).toBe(false);
    expect(row.pending).toBe(false);
  });

  it('marks an ECG with no result yet as pending, and one with missing vessels keeps the others', () => {
    const bare: Observation = { resourceType: 'Observation', id: 'e', status: 'final', code: {} };
    expect(worklistRow({ ecg: bare, vessels: [], attribution: [] }).pending).toBe(true);
    const { parts } = buildBundleParts(examplePrediction());
    const row = worklistRow({ ecg: bare, ...sortRelated(parts.vessels.slice(2)) });
    expect(row.vessels.map((v) => v.stratum)).toEqual([undefined, undefined, 'high', 'intermediate']);
    expect(row.pending).toBe(false);
  });
});
