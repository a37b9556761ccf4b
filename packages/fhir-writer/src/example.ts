/**
 * A documented example Prediction (the one docs/FHIR.md shows), for demos, benchmarks and tests.
 * The identifiers are made up; the ECG facts follow the Mortara el250 sample (DICOM 12-lead, 1000 Hz, 10 s).
 */
import type { EcgAttribution, ModelRef, Prediction, Stratum, Vessel } from '@ecgcad/ecg';
import { assessPtp, type PtpAssessment } from './ptp.js';
import type { RiskFactorState } from './ptp-inputs.js';

/** The demo model as its card describes it. */
export const EXAMPLE_MODEL: ModelRef = {
  id: 'ecgcad-demo',
  version: '1.0.0',
  sha256: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
  clinicalUse: false,
  intendedUse: 'Demonstration weights. Outputs carry no clinical meaning.',
  outcome: 'Severe stenosis (>= 70 %) or occlusion on coronary CT angiography',
};

/** Options of examplePrediction. */
export interface ExamplePredictionOptions {
  /** Ecg id (DICOM SOP Instance UID). Default `1.2.826.0.1.3680043.8.498.10000000000000000000000000000000001`. */
  ecgId?: string;
  /** Patient identifier. Default `MRN-000123`; `null` for an ECG without one. */
  patientId?: string | null;
  /** Probabilities per vessel, in VESSELS order. Default RCA 0.08, LM 0.05, LAD 0.52, LCx 0.2. */
  probabilities?: [number, number, number, number];
  /** Not-analysable reasons: when given, the prediction is not-analysable. */
  notAnalysable?: string[];
  model?: ModelRef;
  /** Add the example occlusion-sensitivity map (exampleAttribution) to a scored prediction. Default false. */
  attribution?: boolean;
}

const VESSELS: Vessel[] = ['RCA', 'LM', 'LAD', 'LCx'];

/** The demo card's LAD-like thresholds, used for every vessel of the example. */
const EXAMPLE_THRESHOLDS = { ruleOut: 0.12, ruleIn: 0.41 };

function stratum(p: number): Stratum {
  return p < EXAMPLE_THRESHOLDS.ruleOut ? 'low' : p >= EXAMPLE_THRESHOLDS.ruleIn ? 'high' : 'intermediate';
}

/** An example Prediction, scored unless `notAnalysable` is given. */
export function examplePrediction(options: ExamplePredictionOptions = {}): Prediction {
  const ecg = {
    id: options.ecgId ?? '1.2.826.0.1.3680043.8.498.10000000000000000000000000000000001',
    format: 'dicom' as const,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.9.1.1',
    sha256: '72f1cb0e00000000000000000000000000000000000000000000000000e688a0',
    feed: 'cstore',
    receivedAt: '2026-11-26T09:00:05Z',
    acquiredAt: '2026-11-26T08:59:40+01:00',
    patient: options.patientId === null ? {} : { identifier: options.patientId ?? 'MRN-000123' },
    device: { manufacturer: 'Mortara Instrument, Inc.', model: 'el250' },
    sampleRateHz: 1000,
    durationS: 10,
    leads: ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'],
  };
  const model = options.model ?? EXAMPLE_MODEL;
  const predictedAt = '2026-11-26T09:00:07.250Z';
  if (options.notAnalysable) {
    return { status: 'not-analysable', ecg, model, reasons: options.notAnalysable, predictedAt };
  }
  const probabilities = options.probabilities ?? [0.08, 0.05, 0.52, 0.2];
  return {
    status: 'scored',
    ecg,
    model,
    predictedAt,
    vessels: VESSELS.map((vessel, i) => {
      const probability = probabilities[i] ?? 0;
      return { vessel, probability, stratum: stratum(probability), thresholds: { ...EXAMPLE_THRESHOLDS } };
    }),
    ...(options.attribution ? { attribution: exampleAttribution() } : {}),
  };
}

const LEADS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];

/**
 * A made-up occlusion-sensitivity map, 12 leads x 10 windows of 1 s: each vessel's map peaks on the leads that
 * face its territory (LAD: V2-V4, RCA: II, III, aVF, LCx: I, aVL, V5, V6, LM: aVR), around 3-5 s, with small
 * negative values elsewhere; the same every call.
 */
export function exampleAttribution(): EcgAttribution {
  const territory: Record<Vessel, string[]> = {
    RCA: ['II', 'III', 'aVF'],
    LM: ['aVR'],
    LAD: ['V2', 'V3', 'V4'],
    LCx: ['I', 'aVL', 'V5', 'V6'],
  };
  const map = (vessel: Vessel): number[][] =>
    LEADS.map((lead, l) =>
      Array.from({ length: 10 }, (_, w) => {
        const peak = territory[vessel].includes(lead) ? 0.08 * Math.exp(-((w - 4) ** 2) / 2) : 0;
        return Math.round((peak - 0.002 * Math.cos(l + w)) * 1e6) / 1e6;
      }),
    );
  return {
    method: 'occlusion',
    windowS: 1,
    startS: 0,
    leads: [...LEADS],
    vessels: { RCA: map('RCA'), LM: map('LM'), LAD: map('LAD'), LCx: map('LCx') },
  };
}

/**
 * A documented example PTP (the one docs/FHIR.md shows): a man of 64 with typical angina, hypertension and a
 * former smoker (2 of 5 risk factors, the others absent), as the reader would derive it from EHR resources with
 * made-up ids, combined with the example prediction's strata by the default matrix.
 */
export function examplePtpAssessment(prediction: Prediction = examplePrediction()): PtpAssessment {
  const present = (ref: string): RiskFactorState => ({ state: 'present', basis: [ref] });
  const absent: RiskFactorState = { state: 'absent', basis: [] };
  return assessPtp(
    {
      age: 64,
      sex: 'male',
      symptoms: 'typical',
      riskFactors: {
        'family-history': absent,
        smoking: present('Observation/example-smoking-status'),
        dyslipidaemia: absent,
        hypertension: present('Condition/example-hypertension'),
        diabetes: absent,
      },
      patientRef: 'Patient/example',
      symptomRef: 'ServiceRequest/example-chest-pain',
      missing: [],
    },
    prediction.status === 'scored' ? prediction.vessels : [],
  );
}
