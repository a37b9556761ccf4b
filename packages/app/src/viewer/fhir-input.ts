/**
 * FHIR R4 (what ecgcad writes: docs/FHIR.md, contracts C1 and C2) -> ViewerInput. Pure and tolerant: a missing or
 * odd piece becomes a line in `problems`, never an exception, because a reader should still see what is there.
 */
import type {
  Annotation,
  CodeableConcept,
  Device,
  Observation,
  ObservationComponent,
  ObservationReferenceRange,
  Quantity,
  RiskAssessment,
  SampledData,
} from '@medplum/fhirtypes';
import {
  type AttributionMap,
  type CombinedCategory,
  type LeadName,
  type ModelInfo,
  type PtpResult,
  STANDARD_LEADS,
  type Stratum,
  VESSELS,
  type Vessel,
  type VesselResult,
  type VesselThresholds,
  type ViewerEcg,
  type ViewerInput,
  type ViewerLead,
} from './types.js';

/** The FHIR resources of one result, as the app reads them from the EHR. */
export interface ViewerFhirInput {
  ecg: Observation;
  riskAssessment?: RiskAssessment;
  vessels: Observation[];
  attribution: Observation[];
  device?: Device;
  ptp?: RiskAssessment;
  notAnalysable?: Observation;
}

export const MDC_SYSTEM = 'urn:oid:2.16.840.1.113883.6.24';
/** MDC lead codes (C1). */
export const MDC_LEAD_CODES: Readonly<Record<LeadName, string>> = {
  I: '131329',
  II: '131330',
  V1: '131331',
  V2: '131332',
  V3: '131333',
  V4: '131334',
  V5: '131335',
  V6: '131336',
  III: '131389',
  aVR: '131390',
  aVL: '131391',
  aVF: '131392',
};
const LEAD_BY_MDC = new Map<string, LeadName>(
  Object.entries(MDC_LEAD_CODES).map(([lead, code]) => [code, lead as LeadName]),
);

const ECGCAD = 'https://ecgcad.org/fhir/CodeSystem/ecgcad';
const RISK_STRATUM = 'https://ecgcad.org/fhir/CodeSystem/risk-stratum';
const RISK_PROBABILITY = 'http://terminology.hl7.org/CodeSystem/risk-probability';
const VESSEL_OUTCOME = 'https://ecgcad.org/fhir/CodeSystem/vessel-outcome';
const PTP = 'https://ecgcad.org/fhir/CodeSystem/ptp';
const WINDOW_START_URL = 'https://ecgcad.org/fhir/StructureDefinition/attribution-window-start';

/**
 * Each derived limb lead as a I + b II (Einthoven, Goldberger): III = II - I, aVR = -(I + II)/2, aVL = I - II/2,
 * aVF = II - I/2. The same weights as @ecgcad/ecg's LIMB_LEAD_WEIGHTS; kept here so the browser bundle does not pull
 * in the kernel.
 */
export const LIMB_LEAD_WEIGHTS = {
  III: [-1, 1],
  aVR: [-0.5, -0.5],
  aVL: [1, -0.5],
  aVF: [-0.5, 1],
} as const satisfies Record<string, readonly [number, number]>;

/** Builds what the viewer shows from the FHIR resources of one result. Never throws. */
export function viewerInputFromFhir(input: ViewerFhirInput): ViewerInput {
  const problems: string[] = [];
  const ecg = decodeWaveform(input.ecg, problems);
  const model = modelInfo(input.device, problems);
  const notAnalysable = input.notAnalysable ? notAnalysableReasons(input.notAnalysable) : undefined;
  if (notAnalysable) problems.push(`ECG not analysable: ${notAnalysable.reasons.join('; ')}`);
  const vessels = vesselResults(input.riskAssessment, input.vessels ?? [], problems, notAnalysable !== undefined);
  const attribution = attributionMaps(input.attribution ?? [], input.vessels ?? [], problems);
  const ptp = input.ptp ? ptpResult(input.ptp) : undefined;
  return {
    ...(ecg ? { ecg } : {}),
    vessels,
    attribution,
    model,
    ...(ptp ? { ptp } : {}),
    ...(notAnalysable ? { notAnalysable } : {}),
    problems,
  };
}

// ---------------------------------------------------------------- waveform (C1)

/** Lead of a component code: MDC code first, then the MDC_ECG_LEAD_* display, then a plain label. */
export function leadOfCode(code: CodeableConcept | undefined): LeadName | undefined {
  for (const c of code?.coding ?? []) {
    const byCode = c.code ? LEAD_BY_MDC.get(c.code) : undefined;
    if (byCode && (c.system === undefined || c.system === MDC_SYSTEM)) return byCode;
  }
  const labels = [...(code?.coding ?? []).map((c) => c.display), code?.text];
  for (const label of labels) {
    const lead = leadFromLabel(label);
    if (lead) return lead;
  }
  return undefined;
}

function leadFromLabel(label: string | undefined): LeadName | undefined {
  if (!label) return undefined;
  const bare = label
    .trim()
    .replace(/^MDC_ECG_LEAD_/i, '')
    .replace(/^lead\s+/i, '');
  return STANDARD_LEADS.find((l) => l.toLowerCase() === bare.toLowerCase());
}

/** Microvolts per unit of a SampledData origin's unit, or undefined for a unit the viewer does not know. */
function microvoltsPer(origin: Quantity | undefined): number | undefined {
  const unit = origin?.code ?? origin?.unit ?? 'uV';
  switch (unit) {
    case 'uV':
    case 'µV':
      return 1;
    case 'mV':
      return 1000;
    case 'V':
      return 1_000_000;
    default:
      return undefined;
  }
}

/**
 * Values of a SampledData: origin + factor * datum, scaled by `scale`. "E", "L" and "U" (error, below and above
 * the detection limit) and anything unreadable become NaN, which the trace draws as a gap.
 */
export function decodeSampledData(sd: SampledData, scale = 1): Float32Array {
  const origin = sd.origin?.value ?? 0;
  const factor = sd.factor ?? 1;
  const tokens = (sd.data ?? '')
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  const out = new Float32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const v = Number(tokens[i]);
    out[i] = Number.isFinite(v) ? (origin + factor * v) * scale : Number.NaN;
  }
  return out;
}

function decodeWaveform(obs: Observation | undefined, problems: string[]): ViewerEcg | undefined {
  if (!obs) {
    problems.push('no ECG Observation: nothing to draw');
    return undefined;
  }
  const stored = new Map<LeadName, Float32Array>();
  let periodMs: number | undefined;
  for (const component of obs.component ?? []) {
    const sd = component.valueSampledData;
    if (!sd) continue;
    const lead = leadOfCode(component.code);
    if (!lead) {
      problems.push(`a waveform component has a lead code the viewer does not know (${codeWords(component.code)})`);
      continue;
    }
    if (stored.has(lead)) {
      problems.push(`lead ${lead} appears twice in the ECG Observation: the first is shown`);
      continue;
    }
    const scale = microvoltsPer(sd.origin);
    if (scale === undefined) {
      problems.push(`lead ${lead}: unit "${sd.origin?.code ?? sd.origin?.unit}" is not a voltage the viewer knows`);
      continue;
    }
    if (!(typeof sd.period === 'number' && sd.period > 0)) {
      problems.push(`lead ${lead}: no sampling period`);
      continue;
    }
    if (periodMs === undefined) periodMs = sd.period;
    else if (Math.abs(sd.period - periodMs) > 1e-9) {
      problems.push(`lead ${lead}: sampling period ${sd.period} ms differs from the other leads' ${periodMs} ms`);
      continue;
    }
    if ((sd.dimensions ?? 1) !== 1) {
      problems.push(`lead ${lead}: ${sd.dimensions} interleaved dimensions (the viewer reads one per component)`);
      continue;
    }
    stored.set(lead, decodeSampledData(sd, scale));
  }
  if (stored.size === 0 || periodMs === undefined) {
    problems.push(
      'no waveform: the ECG Observation carries no lead data (the writer\u2019s waveform option may be off)',
    );
    return undefined;
  }
  const leads = withDerivedLimbLeads(stored, problems);
  const sampleRateHz = 1000 / periodMs;
  const samples = Math.max(...leads.map((l) => l.samplesUv.length));
  const missing = STANDARD_LEADS.filter((l) => !leads.some((x) => x.name === l));
  if (missing.length > 0) problems.push(`leads not in the record: ${missing.join(', ')}`);
  const device = obs.device?.display?.trim();
  const notes = noteTexts(obs.note);
  // The writer records no filter settings today; a note "Filters: 0.05-150 Hz" is read when one appears.
  const filterNote = notes.find((t) => /^filters?:/i.test(t));
  const filters = filterNote?.replace(/^filters?:\s*/i, '');
  const summary = notes.find((t) => t !== filterNote);
  return {
    sampleRateHz,
    durationS: samples / sampleRateHz,
    leads,
    ...(obs.effectiveDateTime ? { acquiredAt: obs.effectiveDateTime } : {}),
    ...(device ? { device } : {}),
    ...(summary ? { summary } : {}),
    ...(filters ? { filters } : {}),
  };
}

/** The stored leads plus III, aVR, aVL and aVF computed from I and II where they are missing, in standard order. */
export function withDerivedLimbLeads(stored: ReadonlyMap<LeadName, Float32Array>, problems: string[]): ViewerLead[] {
  const i = stored.get('I');
  const ii = stored.get('II');
  const out: ViewerLead[] = [];
  const absentLimb = (Object.keys(LIMB_LEAD_WEIGHTS) as (keyof typeof LIMB_LEAD_WEIGHTS)[]).filter(
    (l) => !stored.has(l),
  );
  if (absentLimb.length > 0 && !(i && ii))
    problems.push(`cannot derive ${absentLimb.join(', ')}: leads I and II are both needed`);
  for (const name of STANDARD_LEADS) {
    const own = stored.get(name);
    if (own) {
      out.push({ name, samplesUv: own, derived: false });
      continue;
    }
    if (name in LIMB_LEAD_WEIGHTS && i && ii) {
      const [a, b] = LIMB_LEAD_WEIGHTS[name as keyof typeof LIMB_LEAD_WEIGHTS];
      const n = Math.min(i.length, ii.length);
      const samples = new Float32Array(n);
      for (let k = 0; k < n; k++) samples[k] = a * (i[k] as number) + b * (ii[k] as number);
      out.push({ name, samplesUv: samples, derived: true });
    }
  }
  return out;
}

// ---------------------------------------------------------------- results

const STRATUM_BY_PROBABILITY_CODE: Record<string, Stratum> = { low: 'low', moderate: 'intermediate', high: 'high' };
const STRATUM_WORDS: Record<Stratum, string> = {
  low: 'Low risk',
  intermediate: 'Intermediate risk',
  high: 'High risk',
};

function stratumOf(concept: CodeableConcept | undefined): Stratum | undefined {
  const coding = concept?.coding ?? [];
  const own = coding.find((c) => c.system === RISK_STRATUM)?.code;
  if (own === 'low' || own === 'intermediate' || own === 'high') return own;
  const rp = coding.find((c) => c.system === RISK_PROBABILITY)?.code;
  return rp ? STRATUM_BY_PROBABILITY_CODE[rp] : undefined;
}

function vesselOfOutcome(outcome: CodeableConcept | undefined): Vessel | undefined {
  for (const c of outcome?.coding ?? []) {
    if (c.system === VESSEL_OUTCOME && VESSELS.includes(c.code as Vessel)) return c.code as Vessel;
  }
  return undefined;
}

/** Vessel of a stratum Observation from its code (`ecgcad#LAD-risk-stratum`). */
export function vesselOfObservation(obs: Observation): Vessel | undefined {
  for (const c of obs.code?.coding ?? []) {
    const m = c.system === ECGCAD ? /^(RCA|LM|LAD|LCx)-risk-stratum$/.exec(c.code ?? '') : null;
    if (m) return m[1] as Vessel;
  }
  return undefined;
}

function hasConcept(concept: CodeableConcept | undefined, code: string): boolean {
  return (concept?.coding ?? []).some((c) => c.system === ECGCAD && c.code === code);
}

/**
 * Thresholds of a vessel from the probability component's referenceRange (the writer emits one range per stratum,
 * typed by the risk-stratum code: the `intermediate` one spans rule-out to rule-in), else any range on the
 * component or the Observation with both bounds (low = rule-out, high = rule-in).
 */
export function thresholdsOf(obs: Observation | undefined): VesselThresholds | undefined {
  if (!obs) return undefined;
  const probability = obs.component?.find((c) => hasConcept(c.code, 'probability'));
  const ranges: ObservationReferenceRange[] = [...(probability?.referenceRange ?? []), ...(obs.referenceRange ?? [])];
  const intermediate = ranges.filter((r) => r.type?.coding?.some((c) => c.code === 'intermediate'));
  for (const r of [...intermediate, ...ranges]) {
    const ruleOut = r.low?.value;
    const ruleIn = r.high?.value;
    if (typeof ruleOut === 'number' && typeof ruleIn === 'number' && ruleOut >= 0 && ruleIn <= 1 && ruleOut <= ruleIn)
      return { ruleOut, ruleIn };
  }
  return undefined;
}

function combinedOf(obs: Observation | undefined): CombinedCategory | undefined {
  const c: ObservationComponent | undefined = obs?.component?.find((x) =>
    hasConcept(x.code, 'ptp-ai-combined-category'),
  );
  if (!c) return undefined;
  const code = c.valueCodeableConcept?.coding?.find((x) => x.system === PTP)?.code;
  const m = code ? /^combined-(low|intermediate|high)$/.exec(code) : null;
  if (m) {
    const text = c.valueCodeableConcept?.text ?? c.valueCodeableConcept?.coding?.find((x) => x.system === PTP)?.display;
    return { status: 'present', code: m[1] as 'low' | 'intermediate' | 'high', text: text ?? `combined ${m[1]}` };
  }
  return { status: 'absent', text: c.dataAbsentReason?.text ?? 'no combined category' };
}

function vesselResults(
  ra: RiskAssessment | undefined,
  observations: Observation[],
  problems: string[],
  notAnalysable: boolean,
): VesselResult[] {
  if (!ra && observations.length === 0) {
    if (!notAnalysable) problems.push('no risk assessment and no vessel results');
    return VESSELS.map((vessel) => ({ vessel }));
  }
  if (!ra) problems.push('no RiskAssessment: probabilities are read from the vessel Observations');
  const results: VesselResult[] = [];
  for (const vessel of VESSELS) {
    const prediction = ra?.prediction?.find((p) => vesselOfOutcome(p.outcome) === vessel);
    const obs = observations.find((o) => vesselOfObservation(o) === vessel);
    const obsProbability = obs?.component?.find((c) => hasConcept(c.code, 'probability'))?.valueQuantity?.value;
    const probability = prediction?.probabilityDecimal ?? obsProbability;
    const stratum = stratumOf(prediction?.qualitativeRisk) ?? stratumOf(obs?.valueCodeableConcept);
    if (prediction && obs) {
      if (
        typeof obsProbability === 'number' &&
        typeof prediction.probabilityDecimal === 'number' &&
        Math.abs(obsProbability - prediction.probabilityDecimal) > 1e-9
      )
        problems.push(`${vessel}: the vessel Observation's probability differs from the RiskAssessment's`);
      const obsStratum = stratumOf(obs.valueCodeableConcept);
      if (obsStratum && stratum && obsStratum !== stratum)
        problems.push(`${vessel}: the vessel Observation's stratum differs from the RiskAssessment's`);
    }
    if (probability === undefined) problems.push(`no result for ${vessel}`);
    const thresholds = thresholdsOf(obs);
    const combined = combinedOf(obs);
    const stratumText = prediction?.qualitativeRisk?.text ?? obs?.valueCodeableConcept?.text;
    results.push({
      vessel,
      ...(typeof probability === 'number' ? { probability } : {}),
      ...(stratum ? { stratum, stratumText: stratumText ?? STRATUM_WORDS[stratum] } : {}),
      ...(thresholds ? { thresholds } : {}),
      ...(combined ? { combined } : {}),
    });
  }
  return results;
}

function notAnalysableReasons(obs: Observation): { reasons: string[] } {
  const fromNotes = (obs.note ?? [])
    .map((n) => n.text ?? '')
    .filter((t) => /^Not analysable: /.test(t))
    .map((t) => t.replace(/^Not analysable: /, ''));
  if (fromNotes.length > 0) return { reasons: fromNotes };
  const text = obs.dataAbsentReason?.text?.replace(/^ECG not analysable: /, '');
  return { reasons: text ? text.split('; ') : ['no reason given'] };
}

function noteTexts(notes: Annotation[] | undefined): string[] {
  return (notes ?? []).map((n) => n.text?.trim() ?? '').filter((t) => t !== '');
}

function modelInfo(device: Device | undefined, problems: string[]): ModelInfo {
  if (!device) {
    problems.push('no model Device: whether the model is for clinical use is not known');
    return {};
  }
  const notes = noteTexts(device.note);
  const name = device.deviceName?.find((d) => d.type === 'model-name')?.name ?? device.deviceName?.[0]?.name;
  const version = device.version?.[0]?.value;
  const intendedUse = notes.find((t) => t.startsWith('Intended use: '))?.slice('Intended use: '.length);
  const outcome = notes.find((t) => t.startsWith('Outcome: '))?.slice('Outcome: '.length);
  const demonstration = notes.some((t) => /^Demonstration only\b/i.test(t) || /not for clinical use/i.test(t));
  if (!intendedUse) problems.push('the model Device states no intended use');
  return {
    ...(name ? { name } : {}),
    ...(version ? { version } : {}),
    clinicalUse: !demonstration,
    ...(intendedUse ? { intendedUse } : {}),
    ...(outcome ? { outcome } : {}),
  };
}

function ptpResult(ra: RiskAssessment): PtpResult {
  const method = ra.method?.text ?? ra.method?.coding?.[0]?.display;
  const notes = noteTexts(ra.note);
  const p = ra.prediction?.[0];
  if (ra.status !== 'final' || !p) {
    return { status: 'not-computed', ...(method ? { method } : {}), notes };
  }
  const categoryText = p.qualitativeRisk?.text ?? p.qualitativeRisk?.coding?.[0]?.display;
  return {
    status: 'computed',
    ...(method ? { method } : {}),
    ...(typeof p.probabilityDecimal === 'number' ? { probability: p.probabilityDecimal } : {}),
    ...(categoryText ? { categoryText } : {}),
    ...(p.rationale ? { rationale: p.rationale } : {}),
    notes,
  };
}

// ---------------------------------------------------------------- attribution (C2)

const OCCLUSION_CODE = 'occlusion-sensitivity';

/** Which vessel an attribution Observation is about: its focus (the vessel Observation), else words naming one. */
function vesselOfAttribution(obs: Observation, vesselObservations: Observation[]): Vessel | undefined {
  for (const focus of obs.focus ?? []) {
    const ref = focus.reference ?? '';
    const target = vesselObservations.find(
      (v) =>
        v.id !== undefined &&
        (ref === `Observation/${v.id}` ||
          ref.endsWith(`/Observation/${v.id}`) ||
          ref === v.id ||
          ref === `urn:uuid:${v.id}`),
    );
    const vessel = target ? vesselOfObservation(target) : undefined;
    if (vessel) return vessel;
  }
  const words = [...(obs.focus ?? []).map((f) => f.display), obs.code?.text].filter((w): w is string => !!w);
  for (const w of words) {
    const m = /\b(RCA|LM|LAD|LCx)\b/.exec(w);
    if (m) return m[1] as Vessel;
  }
  return undefined;
}

function attributionMaps(
  observations: Observation[],
  vesselObservations: Observation[],
  problems: string[],
): Partial<Record<Vessel, AttributionMap>> {
  const maps: Partial<Record<Vessel, AttributionMap>> = {};
  for (const obs of observations) {
    if (!(obs.code?.coding ?? []).some((c) => c.code === OCCLUSION_CODE)) continue;
    const vessel = vesselOfAttribution(obs, vesselObservations);
    if (!vessel) {
      problems.push('an attribution map names no vessel the viewer can match (focus)');
      continue;
    }
    const start = obs.extension?.find((e) => e.url === WINDOW_START_URL)?.valueQuantity?.value ?? 0;
    let windowMs: number | undefined;
    const leads: Partial<Record<LeadName, Float32Array>> = {};
    for (const c of obs.component ?? []) {
      const lead = leadOfCode(c.code);
      const sd = c.valueSampledData;
      if (!lead || !sd || !(typeof sd.period === 'number' && sd.period > 0)) continue;
      windowMs ??= sd.period;
      leads[lead] = decodeSampledData(sd);
    }
    if (windowMs === undefined) {
      problems.push(`the ${vessel} attribution map has no readable lead`);
      continue;
    }
    if (maps[vessel]) {
      problems.push(`two attribution maps for ${vessel}: the first is shown`);
      continue;
    }
    maps[vessel] = { windowS: windowMs / 1000, startS: start, leads };
  }
  return maps;
}

function codeWords(code: CodeableConcept | undefined): string {
  const c = code?.coding?.[0];
  return c ? `${c.system ?? '?'}|${c.code ?? '?'}` : (code?.text ?? 'no code');
}
