/**
 * Contracts between the stages: what travels on the queues and what one stage hands the next.
 * Job data stays small JSON; waveforms travel by claim check (a payload-store key), never inline.
 */
import type { EcgDevice, EcgFormat, EcgPatient } from './ecg.js';

/** The four coronary vessels the model scores. */
export const VESSELS = ['RCA', 'LM', 'LAD', 'LCx'] as const;
export type Vessel = (typeof VESSELS)[number];

/** Risk stratum per vessel, from the model card's thresholds. */
export type Stratum = 'low' | 'intermediate' | 'high';

/** BullMQ queue names. */
export const QUEUE_NAMES = { ingest: 'ecg.ingest', infer: 'ecg.infer', write: 'ecg.write' } as const;

/** Redis key prefix for every queue; the hash tag keeps each queue's keys in one Redis Cluster slot. */
export const QUEUE_PREFIX = '{ecgcad}';

/** One vessel's result. */
export interface VesselPrediction {
  vessel: Vessel;
  /** Model probability in [0, 1]. */
  probability: number;
  stratum: Stratum;
  /**
   * The model card thresholds that made the stratum (p < ruleOut: low; p >= ruleIn: high), so a reader of the
   * result can show where the probability sits on the scale. Absent in results from before they were recorded.
   */
  thresholds?: { ruleOut: number; ruleIn: number };
}

/** Identifies the model that produced a result. */
export interface ModelRef {
  id: string;
  version: string;
  /** sha256 of model.onnx. */
  sha256: string;
  clinicalUse: boolean;
  intendedUse: string;
  outcome: string;
}

/** What the fhir-writer needs to know about the ECG (no waveform). */
export interface EcgSummary {
  id: string;
  format: EcgFormat;
  sopClassUid?: string;
  studyInstanceUid?: string;
  sha256: string;
  feed: string;
  receivedAt: string;
  acquiredAt?: string;
  patient: EcgPatient;
  device: EcgDevice;
  sampleRateHz: number;
  durationS: number;
  leads: string[];
}

/**
 * Occlusion-sensitivity map of one scored ECG (the infer stage's `attribution` option): for each vessel, lead and
 * time window, how much that vessel's probability fell when the window of that lead was replaced by the lead's
 * baseline (its median over the record in the model input: the isoelectric level). It shows what this model is
 * sensitive to, not what causes the disease.
 */
export interface EcgAttribution {
  method: 'occlusion';
  /** Window length, s (the last window may be shorter where the record ends). */
  windowS: number;
  /** Time of window 0 in the source ECG, s. */
  startS: number;
  /** Lead names in model order: the first index of each map. */
  leads: string[];
  /**
   * Per vessel, [lead][window]: baseline probability minus the probability with that lead x window occluded.
   * Positive: that region raised the risk; negative: it lowered it.
   */
  vessels: Partial<Record<Vessel, number[][]>>;
}

/** The infer stage's output for one ECG: either scored, or not analysable with reasons. */
export type Prediction =
  | {
      status: 'scored';
      ecg: EcgSummary;
      model: ModelRef;
      vessels: VesselPrediction[];
      /** ISO 8601 instant the prediction was made. */
      predictedAt: string;
      /** Occlusion-sensitivity map, for the ECGs the infer stage's attribution setting selects. */
      attribution?: EcgAttribution;
    }
  | {
      status: 'not-analysable';
      ecg: EcgSummary;
      model: ModelRef;
      reasons: string[];
      predictedAt: string;
    };

/** Job data on `ecg.ingest`: raw bytes stored by claim check. */
export interface IngestJobData {
  /** Payload-store key of the raw bytes. */
  payloadKey: string;
  feed: string;
  receivedAt: string;
  /** Original file name or a sender hint, if any (never patient data). */
  name?: string;
  /** sha256 of the bytes the sender sent, when the feed wrapped them (C-STORE: the data set); else of the payload. */
  sha256?: string;
}

/** Job data on `ecg.infer`: a decoded Ecg stored by claim check. */
export interface InferJobData {
  ecgId: string;
  /** sha256 of the source bytes, to tell a resend (same bytes) from a different document with the same id. */
  sha256?: string;
  /** Payload-store key of the Ecg: encoded by the codec, or the source bytes as received (DICOM; see `feed`). */
  payloadKey: string;
  receivedAt: string;
  /**
   * The feed that received the ECG, set when the payload holds the source bytes as received: the infer stage
   * decodes them again under this feed name (readEcgPayload). Absent for a payload in the codec, which carries it.
   */
  feed?: string;
}

/** Job data on `ecg.write`: the prediction itself (small JSON). */
export interface WriteJobData {
  prediction: Prediction;
  /**
   * Payload-store key of the Ecg (encoded, or its source bytes), when the writer is to put the waveform into the
   * ECG Observation: the infer stage hands its claim check on instead of deleting the payload, and the write stage
   * deletes it once delivered (the dead-letter hooks keep it while the job waits for a replay).
   */
  payloadKey?: string;
}
