import type { Device, Observation, RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import {
  decodeSampledData,
  MDC_LEAD_CODES,
  thresholdsOf,
  viewerInputFromFhir,
  withDerivedLimbLeads,
} from './fhir-input.js';
import type { LeadName } from './types.js';

const MDC = 'urn:oid:2.16.840.1.113883.6.24';
const ECGCAD = 'https://ecgcad.org/fhir/CodeSystem/ecgcad';

/** The C1 ECG Observation of leads given as integers (factor uV per unit). */
function ecgObservation(leads: Partial<Record<LeadName, number[]>>, factor = 2.5, periodMs = 2): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '34534-8' }] },
    effectiveDateTime: '2026-11-26T08:59:40+01:00',
    device: { display: 'Mortara el250' },
    note: [{ text: '12 leads, 10 s at 500 Hz, format dicom' }],
    component: Object.entries(leads).map(([lead, data]) => ({
      code: { coding: [{ system: MDC, code: MDC_LEAD_CODES[lead as LeadName], display: `MDC_ECG_LEAD_${lead}` }] },
      valueSampledData: {
        origin: { value: 0, unit: 'uV', system: 'http://unitsofmeasure.org', code: 'uV' },
        period: periodMs,
        factor,
        dimensions: 1,
        data: (data ?? []).join(' '),
      },
    })),
  };
}

const riskAssessment: RiskAssessment = {
  resourceType: 'RiskAssessment',
  status: 'final',
  subject: { reference: 'Patient/p' },
  prediction: (
    [
      ['RCA', 0.12, 'moderate', 'Intermediate risk'],
      ['LM', 0.05, 'low', 'Low risk'],
      ['LAD', 0.52, 'high', 'High risk'],
      ['LCx', 0.2, 'moderate', 'Intermediate risk'],
    ] as const
  ).map(([vessel, p, code, text]) => ({
    outcome: { coding: [{ system: 'https://ecgcad.org/fhir/CodeSystem/vessel-outcome', code: vessel }] },
    probabilityDecimal: p,
    qualitativeRisk: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/risk-probability', code }], text },
  })),
};

function vesselObservation(vessel: string, p: number, stratum: string, extra: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    id: `v-${vessel}`,
    status: 'final',
    code: { coding: [{ system: ECGCAD, code: `${vessel}-risk-stratum` }] },
    valueCodeableConcept: { coding: [{ system: 'https://ecgcad.org/fhir/CodeSystem/risk-stratum', code: stratum }] },
    component: [
      {
        code: { coding: [{ system: ECGCAD, code: 'probability' }] },
        valueQuantity: { value: p, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
      },
    ],
    ...extra,
  };
}

const vessels = [
  vesselObservation('RCA', 0.12, 'intermediate'),
  vesselObservation('LM', 0.05, 'low'),
  vesselObservation('LAD', 0.52, 'high'),
  vesselObservation('LCx', 0.2, 'intermediate'),
];

const demoDevice: Device = {
  resourceType: 'Device',
  deviceName: [{ name: 'ecgcad-demo', type: 'model-name' }],
  version: [{ value: '1.0.0' }],
  note: [
    { text: 'Demonstration only: this model is not for clinical use; its outputs carry no clinical meaning.' },
    { text: 'Intended use: research demonstration of the pipeline' },
    { text: 'Outcome: severe stenosis on CCTA' },
  ],
};

const eightLeads = (): Partial<Record<LeadName, number[]>> => ({
  I: [40, 80, -40],
  II: [100, 20, 0],
  V1: [1, 2, 3],
  V2: [1, 2, 3],
  V3: [1, 2, 3],
  V4: [1, 2, 3],
  V5: [1, 2, 3],
  V6: [1, 2, 3],
});

describe('viewerInputFromFhir: waveform (C1)', () => {
  it('decodes each lead in microvolts (origin + factor * datum) at the SampledData period', () => {
    const input = viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), vessels: [], attribution: [] });
    const ecg = input.ecg!;
    expect(ecg.sampleRateHz).toBe(500);
    expect(ecg.durationS).toBeCloseTo(3 / 500);
    expect(Array.from(ecg.leads.find((l) => l.name === 'I')!.samplesUv)).toEqual([100, 200, -100]);
    expect(ecg.device).toBe('Mortara el250');
    expect(ecg.acquiredAt).toBe('2026-11-26T08:59:40+01:00');
  });

  it('reads filter settings from a "Filters:" note when the ECG Observation has one', () => {
    const ecg = ecgObservation(eightLeads());
    expect(viewerInputFromFhir({ ecg, vessels: [], attribution: [] }).ecg!.filters).toBeUndefined();
    ecg.note!.push({ text: 'Filters: 0.05-150 Hz, 50 Hz notch' });
    const read = viewerInputFromFhir({ ecg, vessels: [], attribution: [] }).ecg!;
    expect(read.filters).toBe('0.05-150 Hz, 50 Hz notch');
    expect(read.summary).toBe('12 leads, 10 s at 500 Hz, format dicom');
  });

  it('turns 8 stored leads into 12, the four limb leads derived from I and II and marked derived', () => {
    const input = viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), vessels: [], attribution: [] });
    const leads = input.ecg!.leads;
    expect(leads.map((l) => l.name)).toEqual([
      'I',
      'II',
      'III',
      'aVR',
      'aVL',
      'aVF',
      'V1',
      'V2',
      'V3',
      'V4',
      'V5',
      'V6',
    ]);
    expect(leads.filter((l) => l.derived).map((l) => l.name)).toEqual(['III', 'aVR', 'aVL', 'aVF']);
    const at = (name: string): number[] => Array.from(leads.find((l) => l.name === name)!.samplesUv);
    // I = [100, 200, -100], II = [250, 50, 0] uV
    expect(at('III')).toEqual([150, -150, 100]);
    expect(at('aVR')).toEqual([-175, -125, 50]);
    expect(at('aVL')).toEqual([-25, 175, -100]);
    expect(at('aVF')).toEqual([200, -50, 50]);
  });

  it('keeps stored limb leads as stored (not derived)', () => {
    const leads = new Map<LeadName, Float32Array>([
      ['I', new Float32Array([1])],
      ['II', new Float32Array([2])],
      ['III', new Float32Array([7])],
    ]);
    const out = withDerivedLimbLeads(leads, []);
    expect(out.find((l) => l.name === 'III')).toMatchObject({ derived: false, samplesUv: new Float32Array([7]) });
    expect(out.find((l) => l.name === 'aVF')?.derived).toBe(true);
  });

  it('reports a missing waveform as a problem instead of throwing', () => {
    const ecg = ecgObservation({});
    delete ecg.component;
    const input = viewerInputFromFhir({ ecg, riskAssessment, vessels, attribution: [], device: demoDevice });
    expect(input.ecg).toBeUndefined();
    expect(input.problems.some((p) => p.startsWith('no waveform'))).toBe(true);
    expect(input.vessels.map((v) => v.probability)).toEqual([0.12, 0.05, 0.52, 0.2]);
  });

  it('cannot derive limb leads without lead II, and says so', () => {
    const { II: _ii, ...leads } = eightLeads();
    const input = viewerInputFromFhir({ ecg: ecgObservation(leads), vessels: [], attribution: [] });
    expect(input.ecg!.leads.some((l) => l.derived)).toBe(false);
    expect(input.problems).toContain('cannot derive III, aVR, aVL, aVF: leads I and II are both needed');
  });

  it('reads mV data, and SampledData error marks (E, L, U) as gaps', () => {
    expect(
      Array.from(decodeSampledData({ origin: { value: 1 }, factor: 2, period: 1, dimensions: 1, data: '1 E 2 U' })),
    ).toEqual([3, Number.NaN, 5, Number.NaN]);
    const ecg = ecgObservation({ I: [1, 2], II: [1, 2] });
    for (const c of ecg.component!) c.valueSampledData!.origin = { value: 0, unit: 'mV', code: 'mV' };
    const input = viewerInputFromFhir({ ecg, vessels: [], attribution: [] });
    expect(Array.from(input.ecg!.leads[0]!.samplesUv)).toEqual([2500, 5000]);
  });

  it('refuses a lead whose sampling period differs from the others', () => {
    const ecg = ecgObservation(eightLeads());
    ecg.component![7]!.valueSampledData!.period = 4;
    const input = viewerInputFromFhir({ ecg, vessels: [], attribution: [] });
    expect(input.ecg!.leads.some((l) => l.name === 'V6')).toBe(false);
    expect(input.problems.some((p) => p.startsWith('lead V6: sampling period 4 ms differs'))).toBe(true);
  });
});

describe('viewerInputFromFhir: result', () => {
  it('takes probabilities and strata from the RiskAssessment, in vessel order', () => {
    const input = viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), riskAssessment, vessels, attribution: [] });
    expect(input.vessels.map((v) => [v.vessel, v.probability, v.stratum, v.stratumText])).toEqual([
      ['RCA', 0.12, 'intermediate', 'Intermediate risk'],
      ['LM', 0.05, 'low', 'Low risk'],
      ['LAD', 0.52, 'high', 'High risk'],
      ['LCx', 0.2, 'intermediate', 'Intermediate risk'],
    ]);
    expect(input.problems.filter((p) => /RCA|LM|LAD|LCx/.test(p))).toEqual([]);
  });

  it('names missing vessels and disagreements between the RiskAssessment and the vessel Observations', () => {
    const partial: RiskAssessment = { ...riskAssessment, prediction: riskAssessment.prediction!.slice(2, 3) };
    const odd = [vesselObservation('LAD', 0.6, 'high')];
    const input = viewerInputFromFhir({
      ecg: ecgObservation(eightLeads()),
      riskAssessment: partial,
      vessels: odd,
      attribution: [],
    });
    expect(input.vessels.find((v) => v.vessel === 'LAD')!.probability).toBe(0.52);
    expect(input.problems).toEqual(
      expect.arrayContaining([
        'no result for RCA',
        'no result for LM',
        'no result for LCx',
        "LAD: the vessel Observation's probability differs from the RiskAssessment's",
      ]),
    );
  });

  it('falls back to the vessel Observations when there is no RiskAssessment', () => {
    const input = viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), vessels, attribution: [] });
    expect(input.vessels.map((v) => v.probability)).toEqual([0.12, 0.05, 0.52, 0.2]);
    expect(input.vessels.map((v) => v.stratum)).toEqual(['intermediate', 'low', 'high', 'intermediate']);
  });

  it('reads thresholds from the probability component referenceRange, else leaves them unrecorded', () => {
    const withRange = vesselObservation('LAD', 0.52, 'high');
    withRange.component![0]!.referenceRange = [{ low: { value: 0.1 }, high: { value: 0.4 } }];
    const onObservation = vesselObservation('RCA', 0.12, 'intermediate', {
      referenceRange: [{ low: { value: 0.08 }, high: { value: 0.3 } }],
    });
    const input = viewerInputFromFhir({
      ecg: ecgObservation(eightLeads()),
      riskAssessment,
      vessels: [onObservation, vessels[1]!, withRange, vessels[3]!],
      attribution: [],
    });
    expect(input.vessels.map((v) => v.thresholds)).toEqual([
      { ruleOut: 0.08, ruleIn: 0.3 },
      undefined,
      { ruleOut: 0.1, ruleIn: 0.4 },
      undefined,
    ]);
  });

  it('reads the combined category, present or absent with its reason', () => {
    const lad = vesselObservation('LAD', 0.52, 'high');
    lad.component!.push({
      code: { coding: [{ system: ECGCAD, code: 'ptp-ai-combined-category' }] },
      valueCodeableConcept: {
        coding: [{ system: 'https://ecgcad.org/fhir/CodeSystem/ptp', code: 'combined-high' }],
        text: 'ESC 2024 RF-CL x ECG-AI: Combined high: testing with priority',
      },
    });
    const lm = vesselObservation('LM', 0.05, 'low');
    lm.component!.push({
      code: { coding: [{ system: ECGCAD, code: 'ptp-ai-combined-category' }] },
      dataAbsentReason: { text: 'No combined category: pre-test probability not computed (missing age)' },
    });
    const input = viewerInputFromFhir({
      ecg: ecgObservation(eightLeads()),
      riskAssessment,
      vessels: [lm, lad],
      attribution: [],
    });
    expect(input.vessels.find((v) => v.vessel === 'LAD')!.combined).toEqual({
      status: 'present',
      code: 'high',
      text: 'ESC 2024 RF-CL x ECG-AI: Combined high: testing with priority',
    });
    expect(input.vessels.find((v) => v.vessel === 'LM')!.combined).toEqual({
      status: 'absent',
      text: 'No combined category: pre-test probability not computed (missing age)',
    });
  });

  it('reads clinical use, intended use and outcome from the Device notes', () => {
    const input = viewerInputFromFhir({
      ecg: ecgObservation(eightLeads()),
      vessels,
      attribution: [],
      device: demoDevice,
    });
    expect(input.model).toEqual({
      name: 'ecgcad-demo',
      version: '1.0.0',
      clinicalUse: false,
      intendedUse: 'research demonstration of the pipeline',
      outcome: 'severe stenosis on CCTA',
    });
    const clinical: Device = { ...demoDevice, note: demoDevice.note!.slice(1) };
    expect(
      viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), vessels, attribution: [], device: clinical }).model
        .clinicalUse,
    ).toBe(true);
    const none = viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), vessels, attribution: [] });
    expect(none.model.clinicalUse).toBeUndefined();
    expect(none.problems).toContain('no model Device: whether the model is for clinical use is not known');
  });

  it('reads a computed PTP and a cancelled one with its notes', () => {
    const computed: RiskAssessment = {
      resourceType: 'RiskAssessment',
      status: 'final',
      subject: {},
      method: { text: 'ESC 2024 RF-CL' },
      prediction: [
        { probabilityDecimal: 0.34, qualitativeRisk: { text: 'ESC 2024 RF-CL: moderate (34 %)' }, rationale: 'age 64' },
      ],
    };
    expect(
      viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), vessels, attribution: [], ptp: computed }).ptp,
    ).toEqual({
      status: 'computed',
      method: 'ESC 2024 RF-CL',
      probability: 0.34,
      categoryText: 'ESC 2024 RF-CL: moderate (34 %)',
      rationale: 'age 64',
      notes: [],
    });
    const cancelled: RiskAssessment = {
      resourceType: 'RiskAssessment',
      status: 'cancelled',
      subject: {},
      note: [{ text: 'Pre-test probability not computed: missing smoking status.' }],
    };
    expect(
      viewerInputFromFhir({ ecg: ecgObservation(eightLeads()), vessels, attribution: [], ptp: cancelled }).ptp,
    ).toEqual({
      status: 'not-computed',
      notes: ['Pre-test probability not computed: missing smoking status.'],
    });
  });

  it('reports a not-analysable ECG with its reasons, and no missing-vessel noise', () => {
    const na: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: ECGCAD, code: 'ecg-cad-assessment' }] },
      dataAbsentReason: { text: 'ECG not analysable: lead V2 flat; too short' },
      note: [{ text: 'Not analysable: lead V2 flat' }, { text: 'Not analysable: too short' }],
    };
    const input = viewerInputFromFhir({
      ecg: ecgObservation(eightLeads()),
      vessels: [],
      attribution: [],
      notAnalysable: na,
    });
    expect(input.notAnalysable).toEqual({ reasons: ['lead V2 flat', 'too short'] });
    expect([...input.problems].sort()).toEqual([
      'ECG not analysable: lead V2 flat; too short',
      'no model Device: whether the model is for clinical use is not known',
    ]);
  });
});

describe('viewerInputFromFhir: attribution (C2)', () => {
  const attribution = (focus: string, values: Partial<Record<LeadName, number[]>>, startS = 0.5): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: ECGCAD, code: 'occlusion-sensitivity' }] },
    focus: [{ reference: focus }],
    extension: [
      {
        url: 'https://ecgcad.org/fhir/StructureDefinition/attribution-window-start',
        valueQuantity: { value: startS, unit: 's', system: 'http://unitsofmeasure.org', code: 's' },
      },
    ],
    component: Object.entries(values).map(([lead, data]) => ({
      code: { coding: [{ system: MDC, code: MDC_LEAD_CODES[lead as LeadName] }] },
      valueSampledData: {
        origin: { value: 0, unit: '1', code: '1' },
        period: 500,
        factor: 0.001,
        dimensions: 1,
        data: (data ?? []).join(' '),
      },
    })),
  });

  it('matches each map to its vessel through focus and decodes value per lead per window', () => {
    const input = viewerInputFromFhir({
      ecg: ecgObservation(eightLeads()),
      riskAssessment,
      vessels,
      attribution: [
        attribution('Observation/v-LAD', { I: [10, -20, 0], V2: [5, 5, 5] }),
        attribution('Observation/v-RCA', { II: [1] }, 0),
      ],
    });
    const lad = input.attribution.LAD!;
    expect(lad.windowS).toBe(0.5);
    expect(lad.startS).toBe(0.5);
    expect(Array.from(lad.leads.I!)).toEqual([0.01, -0.02, 0].map((x) => Math.fround(x)));
    expect(Object.keys(input.attribution).sort()).toEqual(['LAD', 'RCA']);
  });

  it('reports a map whose focus matches no vessel', () => {
    const input = viewerInputFromFhir({
      ecg: ecgObservation(eightLeads()),
      vessels,
      attribution: [attribution('Observation/unknown', { I: [1] })],
    });
    expect(input.attribution).toEqual({});
    expect(input.problems).toContain('an attribution map names no vessel the viewer can match (focus)');
  });
});

describe('thresholdsOf on what the writer emits', () => {
  it('reads rule-out and rule-in from the one-range-per-stratum referenceRange of the probability component', async () => {
    const { buildBundleParts, examplePrediction } = await import('@ecgcad/fhir-writer');
    const { parts } = buildBundleParts(examplePrediction());
    for (const vessel of parts.vessels) expect(thresholdsOf(vessel)).toEqual({ ruleOut: 0.12, ruleIn: 0.41 });
  });
});
