/**
 * Payloads that hold the source bytes as a feed received them. A DICOM waveform object is stored as it came (the
 * feed decodes it to check it, but does not encode it again: that was the largest part of a C-STORE's hand-over),
 * and each stage that needs the samples decodes those bytes again. Everything else is stored in the payload codec.
 * The two are told apart by the codec's magic, so a payload says what it is whatever job points at it.
 */
import type { Ecg } from '../ecg.js';
import { PermanentError } from '../errors.js';
import { decodeEcgPayload, isEncodedEcgPayload } from './codec.js';

/** What a stage knows about stored source bytes when it decodes them again. */
export interface SourceMeta {
  /** The feed that received them (the job's `feed`). */
  feed: string;
  /** ISO instant the feed received them. */
  receivedAt: string;
  /** Their sha256 as the intake computed it, so the decoder need not hash them again. */
  sha256?: string;
}

/** Decodes source bytes to an Ecg (the engine passes @ecgcad/ingest's decodeEcg with its limits). */
export type SourceDecoder = (bytes: Uint8Array, meta: SourceMeta) => Ecg;

/**
 * The Ecg a payload holds: decoded by the codec, or, for source bytes, by `decodeSource`. Without a source decoder
 * such a payload is a PermanentError (a stage wired without one cannot read it, and no retry changes that).
 */
export function readEcgPayload(bytes: Uint8Array, meta: SourceMeta, decodeSource?: SourceDecoder): Ecg {
  if (isEncodedEcgPayload(bytes)) return decodeEcgPayload(bytes);
  if (!decodeSource) throw new PermanentError('the payload holds source bytes and this stage has no decoder for them');
  return decodeSource(bytes, meta);
}
