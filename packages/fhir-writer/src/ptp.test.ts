import {
  combinedCategory,
  DEFAULT_RECLASSIFICATION,
  defaultReclassification,
  pretestProbability,
} from '@ecgcad/clinical';
import type { Observation, RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildBundleParts } from './bundle.js';
import { CONCEPTS, SYSTEMS } from './codes.js';
import { examplePrediction } from './example.js';
import { assessPtp } from './ptp.js';
import { type DerivedPtpInputs, RISK_FACTORS, type RiskFactor, type RiskFactorState } from './ptp-inputs.js';
import { bundleIssues, isAiProduced } from './validate.js';

const scored = examplePrediction({ probabilities: [0.05, 0.05, 0.52, 0.2] }); // RCA low, LM low, LAD high, LCx inter.
const vessels = scored.status === 'scored' ? scored.vessels : [];

function derived(over: Partial<DerivedPtpInputs> = {}, present: RiskFactor[] = [], unknown: RiskFactor[] = []) {
  const riskFactors = {} as Record<RiskFactor, RiskFactorState>;
  for (const r of RISK_FACTORS) {
    riskFactors[r] = present.includes(r)
      ? { state: 'present', basis: [`Condition/${r}`] }
      : unknown.includes(r)
        ? { state: 'unknown', basis: [], reason: `${r} not recorded` }
        : { state: 'absent', basis: [] };
  }
  return {
    age: 58,
    sex: 'male' as const,
    symptoms: 'atypical' as const,
    riskFactors,
    patientRef: 'Patient/p1',
    symptomRef: 'ServiceRequest/sr1',
    missing: [],
    ...over,
  } satisfies DerivedPtpInputs;
}

describe('assessPtp', () => {
  it('reports ESC 2024 RF-CL and the combined category per vessel, as @ecgcad/clinical computes them', () => {
    const a = assessPtp(derived({}, ['hypertension', 'smoking']), vessels);
    const expected = pretestProbability({ age: 58, sex: 'male', symptoms: 'atypical', riskFactors: 2 });
    expect(a.status).toBe('computed');
    if (a.status !== 'computed') return;
    expect(a.value).toMatchObject({ model: 'esc2024', percent: expected.esc2024.percent });
    expect(a.value.category).toBe(expected.esc2024.category);
    for (const v of vessels)
      expect(a.combined[v.vessel]).toBe(combinedCategory(DEFAULT_RECLASSIFICATION, expected, v.stratum));
    expect(a.basis).toEqual(['Patient/p1', 'ServiceRequest/sr1', 'Condition/smoking', 'Condition/hypertension']);
    expect(a.cacsCl).toBeUndefined();
  });

  it('adds CACS-CL when a calcium score exists, and a CACS-CL matrix uses it', () => {
    const a = assessPtp(derived({ cacs: 150, cacsRef: 'Observation/cac' }, ['diabetes']), vessels, {
      matrix: defaultReclassification('cacs-cl'),
    });
    const expected = pretestProbability({ age: 58, sex: 'male', symptoms: 'atypical', riskFactors: 1, cacs: 150 });
    if (a.status !== 'computed') throw new Error('not computed');
    expect(a.cacsCl?.percent).toBe(expected.cacsCl?.percent);
    expect(a.cacsRef).toBe('Observation/cac');
    expect(a.combined.LAD).toBe(combinedCategory(defaultReclassification('cacs-cl'), expected, 'high'));
    const noCalcium = assessPtp(derived({}, ['diabetes']), vessels, { matrix: defaultReclassification('cacs-cl') });
    if (noCalcium.status !== 'computed') throw new Error('not computed');
    expect(noCalcium.combined).toEqual({});
    expect(noCalcium.combinedMissing).toMatch(/no coronary calcium score/);
  });

  it('passes dyspnoea beside chest pain to the model (ESC 2024 scores the higher symptom)', () => {
    const a = assessPtp(derived({ symptoms: 'non-anginal', dyspnoea: true }, ['hypertension']), vessels);
    const withD = pretestProbability({ age: 58, sex: 'male', symptoms: 'non-anginal', dyspnoea: true, riskFactors: 1 });
    const without = pretestProbability({ age: 58, sex: 'male', symptoms: 'non-anginal', riskFactors: 1 });
    if (a.status !== 'computed') throw new Error('not computed');
    expect(withD.esc2024.percent).not.toBe(without.esc2024.percent);
    expect(a.value.percent).toBe(withD.esc2024.percent);
    expect(a.inputs.dyspnoea).toBe(true);
  });

  it('computes when unknown risk factors cannot change the group, and not when they can', () => {
    const same = assessPtp(derived({}, ['hypertension', 'smoking'], ['family-history']), vessels);
    expect(same.status).toBe('computed');
    const differs = assessPtp(derived({}, ['hypertension'], ['family-history', 'diabetes']), vessels);
    expect(differs).toMatchObject({ status: 'not-computed' });
    if (differs.status !== 'not-computed') return;
    expect(differs.missing.map((m) => m.input)).toEqual(['family-history', 'diabetes']);
  });

  it('reports ESC 2019 without the risk factors, and its matrix combines it', () => {
    const a = assessPtp(derived({}, ['hypertension'], ['family-history', 'diabetes']), vessels, {
      model: 'esc2019',
      matrix: defaultReclassification('esc2019'),
    });
    if (a.status !== 'computed') throw new Error('not computed');
    expect(a.value).toMatchObject({ model: 'esc2019', percent: 17, category: 'high', level: 'high' });
    expect(a.inputs.riskFactorCount).toBeUndefined();
    expect(a.cacsCl).toBeUndefined();
    expect(a.notes.join(' ')).not.toMatch(/ESC 2024/);
    expect(a.combined).toEqual({ RCA: 'high', LM: 'high', LAD: 'high', LCx: 'high' });
    // Without a matrix, the shipped cells on the reported model.
    const d = assessPtp(derived({}, ['hypertension'], ['family-history', 'diabetes']), vessels, { model: 'esc2019' });
    expect(d).toMatchObject({ status: 'computed', matrixModel: 'esc2019' });
    // ESC 2019 reported, but the matrix is on ESC 2024: it needs the risk factors.
    const b = assessPtp(derived({}, ['hypertension'], ['family-history', 'diabetes']), vessels, {
      model: 'esc2019',
      matrix: DEFAULT_RECLASSIFICATION,
    });
    expect(b).toMatchObject({ status: 'not-computed' });
  });

  it('is not computed when an input is missing or out of the models’ range', () => {
    const missing = assessPtp(
      derived({ symptoms: undefined, missing: [{ input: 'symptoms', reason: 'no ServiceRequest reasonCode' }] }),
      vessels,
    );
    expect(missing).toEqual({
      status: 'not-computed',
      model: 'esc2024',
      missing: [{ input: 'symptoms', reason: 'no ServiceRequest reasonCode' }],
      basis: ['Patient/p1', 'ServiceRequest/sr1'],
    });
    const old = assessPtp(derived({ age: 84 }), vessels);
    expect(old).toMatchObject({ status: 'not-computed', missing: [{ input: 'age' }] });
    const young = assessPtp(derived({ age: 25 }), vessels);
    expect(young).toMatchObject({ status: 'not-computed', missing: [{ input: 'age' }] });
    const noSymptoms = assessPtp(derived({ symptoms: 'none' }), vessels, { model: 'esc2019' });
    expect(noSymptoms).toMatchObject({ status: 'not-computed', missing: [{ input: 'symptoms' }] });
  });
});

describe('the Bundle with PTP', () => {
  const component = (obs: Observation) =>
    obs.component?.find((c) => c.code.coding?.some((x) => x.code === CONCEPTS.combinedCategory.code));

  it('carries a valid PTP RiskAssessment, the combined category per vessel and the sources in Provenance', () => {
    const ptp = assessPtp(derived({ cacs: 12, cacsRef: 'Observation/cac' }, ['hypertension', 'smoking']), vessels);
    const { bundle, parts } = buildBundleParts(scored, {}, ptp);
    expect(bundleIssues(bundle)).toEqual([]);
    const ra = parts.ptp as RiskAssessment;
    expect(ra.status).toBe('final');
    expect(ra.method?.coding?.[0]).toMatchObject({ system: SYSTEMS.ptp, code: 'esc2024-rf-cl' });
    expect(ra.basis?.map((b) => b.reference)).toEqual([
      'Patient/p1',
      'ServiceRequest/sr1',
      'Condition/smoking',
      'Condition/hypertension',
    ]);
    const expected = pretestProbability({ age: 58, sex: 'male', symptoms: 'atypical', riskFactors: 2, cacs: 12 });
    expect(ra.prediction?.[0]?.probabilityDecimal).toBeCloseTo(expected.esc2024.percent / 100, 6);
    expect(ra.prediction?.[0]?.rationale).toMatch(/age 58, male, symptoms atypical, risk factors 2 of 5/);
    expect(isAiProduced(ra)).toBe(false);
    expect(ra.meta?.security).toBeUndefined();
    const cacs = parts.ptpCacsCl as RiskAssessment;
    expect(cacs.method?.coding?.[0]?.code).toBe('esc2024-cacs-cl');
    expect(cacs.basis?.map((b) => b.reference)).toContain('Observation/cac');
    expect(cacs.parent?.reference).toBe(bundle.entry?.find((e) => e.resource === parts.ptp)?.fullUrl);
    const lad = parts.vessels.find((o) => o.code.coding?.some((c) => c.code === 'LAD-risk-stratum')) as Observation;
    const expectedLad = combinedCategory(DEFAULT_RECLASSIFICATION, expected, 'high');
    expect(component(lad)?.valueCodeableConcept?.coding?.[0]).toMatchObject({
      system: SYSTEMS.ptp,
      code: `combined-${expectedLad}`,
    });
    const sources = parts.provenance.entity?.slice(1).map((e) => e.what.reference);
    expect(sources).toEqual([...(ra.basis?.map((b) => b.reference) ?? []), 'Observation/cac']);
    // Exactly-once: the PTP resources are conditional creates on their own identifiers.
    const ptpEntry = bundle.entry?.find((e) => (e.resource as RiskAssessment | undefined)?.method);
    expect(ptpEntry?.request?.ifNoneExist).toMatch(/^identifier=/);
  });

  it('says why when the PTP was not computed, in the RiskAssessment and each vessel', () => {
    const ptp = assessPtp(
      derived({ symptoms: undefined, missing: [{ input: 'symptoms', reason: 'no ServiceRequest reasonCode' }] }),
      vessels,
    );
    const { bundle, parts } = buildBundleParts(scored, {}, ptp);
    expect(bundleIssues(bundle)).toEqual([]);
    expect(parts.ptp?.status).toBe('cancelled');
    expect(parts.ptp?.prediction).toBeUndefined();
    expect(parts.ptp?.note?.map((n) => n.text)).toEqual([
      'Pre-test probability not computed: missing symptom type.',
      'Missing input: symptom type: no ServiceRequest reasonCode',
    ]);
    for (const v of parts.vessels) {
      expect(component(v)?.dataAbsentReason?.text).toBe(
        'No combined category: pre-test probability not computed (missing symptom type)',
      );
    }
  });

  it('is unchanged without PTP, and the validator refuses a broken PTP', () => {
    expect(buildBundleParts(scored, {}).parts.ptp).toBeUndefined();
    const ptp = assessPtp(derived({}, ['hypertension', 'smoking']), vessels);
    const { bundle } = buildBundleParts(scored, {}, ptp);
    const ra = bundle.entry?.find((e) => (e.resource as RiskAssessment | undefined)?.method)
      ?.resource as RiskAssessment;
    ra.basis = [];
    delete ra.method;
    expect(bundleIssues(bundle).join('\n')).toMatch(/method must be a PTP method[\s\S]*basis/);
  });
});
