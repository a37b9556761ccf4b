/**
 * ECG results for the app's tests, written into a test EHR by the real FhirWriter: two patients, several ECGs
 * each at different times, some high, one not analysable. The ECG Observations carry waveform components in the
 * contract C1 shape (one `valueSampledData` per stored lead), added by a sink wrapper when the writer does not
 * write them itself.
 */
import {
  type BundleSink,
  type DeliveryResult,
  examplePrediction,
  FhirClient,
  FhirWriter,
  SYSTEMS,
  type TestEhr,
} from '@ecgcad/fhir-writer';
import type { Bundle, Observation } from '@medplum/fhirtypes';

/** One seeded ECG: what the worklist must show for it. */
export interface SeededEcg {
  ecgUid: string;
  patient: 'A' | 'B';
  acquiredAt: string;
  /** RCA, LM, LAD, LCx; undefined for the not-analysable one. */
  probabilities?: [number, number, number, number];
  notAnalysable?: string[];
}

/** The seeded ECGs (patient A: 4 ECGs, 2 high, 1 not analysable; patient B: 2, 1 high). */
export const SEEDED: SeededEcg[] = [
  { ecgUid: '1.2.3.100.1', patient: 'A', acquiredAt: '2026-11-20T08:00:00Z', probabilities: [0.05, 0.03, 0.1, 0.08] },
  { ecgUid: '1.2.3.100.2', patient: 'A', acquiredAt: '2026-11-21T08:00:00Z', probabilities: [0.5, 0.04, 0.2, 0.1] },
  { ecgUid: '1.2.3.100.3', patient: 'A', acquiredAt: '2026-11-22T08:00:00Z', notAnalysable: ['lead V2 disconnected'] },
  { ecgUid: '1.2.3.100.4', patient: 'A', acquiredAt: '2026-11-23T08:00:00Z', probabilities: [0.07, 0.02, 0.3, 0.11] },
  { ecgUid: '1.2.3.100.5', patient: 'A', acquiredAt: '2026-11-19T08:00:00Z', probabilities: [0.06, 0.05, 0.62, 0.45] },
  { ecgUid: '1.2.3.200.1', patient: 'B', acquiredAt: '2026-11-24T08:00:00Z', probabilities: [0.09, 0.06, 0.44, 0.12] },
  { ecgUid: '1.2.3.200.2', patient: 'B', acquiredAt: '2026-11-25T08:00:00Z', probabilities: [0.05, 0.03, 0.11, 0.05] },
];

export const PATIENT_MRN = { A: 'MRN-APP-A', B: 'MRN-APP-B' } as const;

/** The patients' identifiers, for startTestEhr({ patients }). */
export const seededPatients = () =>
  (['A', 'B'] as const).map((p) => ({ system: SYSTEMS.patientId, value: PATIENT_MRN[p] }));

const MDC = 'urn:oid:2.16.840.1.113883.6.24';
const LEADS: Array<[string, string]> = [
  ['I', '131329'],
  ['II', '131330'],
  ['V1', '131331'],
  ['V2', '131332'],
  ['V3', '131333'],
  ['V4', '131334'],
  ['V5', '131335'],
  ['V6', '131336'],
];

/** A small synthetic beat train, 500 Hz, 10 s, in data units of 5 uV. */
function leadData(lead: number): string {
  const out: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = (i % 450) / 450;
    const qrs = Math.exp(-(((t - 0.3) / 0.012) ** 2)) * (200 - lead * 15);
    const tw = Math.exp(-(((t - 0.6) / 0.06) ** 2)) * 40;
    out.push(Math.round(qrs + tw));
  }
  return out.join(' ');
}

/** The ECG written without a waveform (as a writer with `fhir.waveform` false writes it). */
export const NO_WAVEFORM_UID = '1.2.3.200.2';

/** Adds C1 waveform components to the Bundle's ECG Observation when it has none (not to NO_WAVEFORM_UID). */
function withWaveform(bundle: Bundle): Bundle {
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource as Observation | undefined;
    if (r?.resourceType !== 'Observation' || !r.code?.coding?.some((c) => c.code === '34534-8')) continue;
    if (r.component?.length) continue;
    if (r.identifier?.some((i) => i.value === `urn:oid:${NO_WAVEFORM_UID}`)) {
      r.component = undefined;
      continue;
    }
    r.component = LEADS.map(([name, code], i) => ({
      code: { coding: [{ system: MDC, code, display: `MDC_ECG_LEAD_${name}` }] },
      valueSampledData: {
        origin: { value: 0, unit: 'uV', system: 'http://unitsofmeasure.org', code: 'uV' },
        period: 2,
        factor: 5,
        dimensions: 1,
        data: leadData(i),
      },
    }));
  }
  return bundle;
}

/** Writes the seeded results into the EHR with the real FhirWriter (client credentials `writer`/`secret`). */
export async function seedResults(ehr: TestEhr, clientSecret = 'writer-secret'): Promise<void> {
  const client = new FhirClient({
    baseUrl: ehr.url,
    auth: { type: 'client-credentials', tokenUrl: ehr.tokenUrl, clientId: 'writer', clientSecret },
  });
  const sink: BundleSink = { deliver: (b: Bundle): Promise<DeliveryResult> => client.deliver(withWaveform(b)) };
  const writer = new FhirWriter({ sink });
  for (const s of SEEDED) {
    const base = examplePrediction({
      ecgId: s.ecgUid,
      patientId: PATIENT_MRN[s.patient],
      ...(s.probabilities ? { probabilities: s.probabilities } : {}),
      ...(s.notAnalysable ? { notAnalysable: s.notAnalysable } : {}),
    });
    await writer.write({ ...base, ecg: { ...base.ecg, acquiredAt: s.acquiredAt } });
  }
}

/** The writer client to register with the test EHR (startTestEhr({ auth: { clients: [writerClient] } })). */
export const writerClient = { clientId: 'writer', secret: 'writer-secret' };

/** Stratum of a probability by the example's thresholds (rule-out 0.12, rule-in 0.41). */
export const stratumOf = (p: number): 'low' | 'intermediate' | 'high' =>
  p < 0.12 ? 'low' : p >= 0.41 ? 'high' : 'intermediate';
