/**
 * What every decoder shares: the caller's metadata, the `source` block of the Ecg, and the guard that turns
 * anything a hostile file provokes into a typed error.
 */
import { createHash } from 'node:crypto';
import { EcgcadError, type EcgFormat, type EcgSource, MalformedInputError } from '@ecgcad/ecg';

/** What the caller knows about the bytes: the feed that received them and when. */
export interface DecodeMeta {
  /** Name of the feed (e.g. `cstore`, `stow`, `http`, `folder`, `file`). */
  feed: string;
  /** ISO 8601 instant of receipt; defaults to now. */
  receivedAt?: string;
  /**
   * The bytes' sha256 (hex) where the caller has it already: a stage decoding a stored source payload again, whose
   * hash the intake computed. Taken as given, not checked.
   */
  sha256?: string;
}

/** Hex sha256 of the bytes as received. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The Ecg `source` block for bytes of a given format. */
export function sourceFor(
  bytes: Uint8Array,
  format: EcgFormat,
  meta: DecodeMeta,
  extra?: { sopClassUid?: string; studyInstanceUid?: string },
): EcgSource {
  const source: EcgSource = {
    format,
    sha256: meta.sha256 ?? sha256Hex(bytes),
    feed: meta.feed,
    receivedAt: meta.receivedAt ?? new Date().toISOString(),
  };
  if (extra?.sopClassUid) source.sopClassUid = extra.sopClassUid;
  if (extra?.studyInstanceUid) source.studyInstanceUid = extra.studyInstanceUid;
  return source;
}

/**
 * A short code-like value from a file (a unit, a sample interpretation) as it may appear in an error message.
 * Anything longer or stranger than a code is replaced, so a hostile file cannot put free text (or patient
 * data) into logs through an error message.
 */
export function shownValue(value: string): string {
  return /^[A-Za-z0-9_ .:[\]{}()/%^*µμ-]{0,24}$/.test(value) ? value : '(unreadable value)';
}

/**
 * Runs a decoder and lets only typed errors out. Third-party parsers throw plain Errors (or even strings), and
 * hostile bytes can provoke TypeError/RangeError deep inside a decoder; all of those become MalformedInputError.
 * The original is kept as `cause` for debugging; its message is not repeated because it may quote file content.
 */
export function guardDecode<T>(format: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof EcgcadError) throw err;
    const kind = err instanceof Error ? err.name : typeof err;
    throw new MalformedInputError(format, `cannot parse ${format} input (${kind})`, undefined, { cause: err });
  }
}
