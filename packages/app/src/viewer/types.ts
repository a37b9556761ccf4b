/**
 * What the viewer draws, decoded from FHIR once (viewerInputFromFhir) so that rendering never reads FHIR and a
 * test can build an input by hand.
 */

/** The twelve standard leads in the order a 12-lead report prints them. */
export const STANDARD_LEADS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'] as const;
export type LeadName = (typeof STANDARD_LEADS)[number];

/** The four vessels the model scores, in the writer's order. */
export const VESSELS = ['RCA', 'LM', 'LAD', 'LCx'] as const;
export type Vessel = (typeof VESSELS)[number];

export type Stratum = 'low' | 'intermediate' | 'high';

/** One lead's samples. */
export interface ViewerLead {
  name: LeadName;
  /** Microvolts at `ViewerEcg.sampleRateHz`; NaN where the source had no value (SampledData E/U/L). */
  samplesUv: Float32Array;
  /** True when the viewer computed it from I and II (the file did not store it). */
  derived: boolean;
}

/** The waveform and what a cart prints in its header. */
export interface ViewerEcg {
  sampleRateHz: number;
  durationS: number;
  /** Present leads in standard order. */
  leads: ViewerLead[];
  /** FHIR dateTime of acquisition, as recorded. */
  acquiredAt?: string;
  /** Cart manufacturer and model. */
  device?: string;
  /** The ECG Observation's summary note (lead count, duration, rate, format). */
  summary?: string;
  /** Filter settings, when the source recorded them (C1 carries none today). */
  filters?: string;
}

/** Stratum thresholds of one vessel: p < ruleOut is low, p >= ruleIn is high. */
export interface VesselThresholds {
  ruleOut: number;
  ruleIn: number;
}

/** The PTP x ECG-AI combined category of one vessel, or why there is none. */
export type CombinedCategory =
  | { status: 'present'; code: 'low' | 'intermediate' | 'high'; text: string }
  | { status: 'absent'; text: string };

/** One vessel's result. */
export interface VesselResult {
  vessel: Vessel;
  /** Model probability in [0, 1]; undefined when no result names this vessel. */
  probability?: number;
  stratum?: Stratum;
  /** The stratum as the result words it ("High risk"). */
  stratumText?: string;
  /** undefined when the result does not record them ("thresholds not recorded"). */
  thresholds?: VesselThresholds;
  combined?: CombinedCategory;
}

/** Occlusion-sensitivity map of one vessel (C2): value per lead per window. */
export interface AttributionMap {
  /** Window length, s. */
  windowS: number;
  /** Time of window 0 in the ECG, s. */
  startS: number;
  /** Per lead: baseline probability minus probability with that window occluded; positive raised the risk. */
  leads: Partial<Record<LeadName, Float32Array>>;
}

/** The model, as its Device tells. */
export interface ModelInfo {
  name?: string;
  version?: string;
  /** false when the Device says "Demonstration only"; undefined when no Device was given. */
  clinicalUse?: boolean;
  intendedUse?: string;
  outcome?: string;
}

/** The guideline pre-test probability. */
export interface PtpResult {
  status: 'computed' | 'not-computed';
  method?: string;
  probability?: number;
  /** Category as written ("ESC 2024 RF-CL: moderate (34 %)"). */
  categoryText?: string;
  rationale?: string;
  notes: string[];
}

/** Everything renderEcgViewer shows. */
export interface ViewerInput {
  /** undefined when the ECG Observation carries no waveform (see problems). */
  ecg?: ViewerEcg;
  /** Always the four vessels in VESSELS order; a vessel without a result has no probability. */
  vessels: VesselResult[];
  attribution: Partial<Record<Vessel, AttributionMap>>;
  model: ModelInfo;
  ptp?: PtpResult;
  /** Set when the engine refused the ECG: the reasons, in the result's words. */
  notAnalysable?: { reasons: string[] };
  /** A line for the header that names the patient; the caller fills it (FHIR Observations carry only a reference). */
  patientLabel?: string;
  /** What is missing or inconsistent, in words a reader can act on. Never patient data. */
  problems: string[];
}
