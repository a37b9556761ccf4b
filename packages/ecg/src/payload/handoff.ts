/**
 * Decoded ECGs handed from one stage to the next when both run in one process (`ecgcad serve`): from the feeds'
 * intake to the infer stage, and from the infer stage to the write stage (for the waveform), so the next stage need
 * not read the payload back from Redis and decode it again. Only an optimisation: the payload stays in the store
 * until the writer has delivered, and any job that finds nothing here (another process, a retry, an entry dropped
 * for room or age) reads and decodes the payload as before.
 *
 * Only payloads that hold a DICOM object as received go in: their key names the bytes (the data set's hash), and
 * both stages decode them with the same decoder and meta, so an entry is what the next stage's own decode would give.
 */
import { type Ecg, STANDARD_LEADS } from '../ecg.js';

/** Options of {@link EcgHandoff}. */
export interface EcgHandoffOptions {
  /** Most bytes of lead samples held at once; a new entry past it is not taken. Default 32 MiB. */
  maxBytes?: number;
  /** Oldest an entry may get before it is dropped (its write ran elsewhere, or never). Default 60 000 ms. */
  maxAgeMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

interface Entry {
  ecg: Ecg;
  bytes: number;
  at: number;
}

/** A bounded, in-process map from payload key to the ECG decoded from it. */
export class EcgHandoff {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  private readonly now: () => number;
  /** In insertion order, which is age order: the oldest entries are swept from the front. */
  private readonly entries = new Map<string, Entry>();
  private heldBytes = 0;

  constructor(options: EcgHandoffOptions = {}) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes of lead samples held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * Leaves `ecg` for the next stage's job of `key`'s payload. When full it keeps what it holds (jobs are taken oldest
   * first, so those are the ones wanted next) and takes nothing; returns whether it took `ecg`.
   */
  put(key: string, ecg: Ecg): boolean {
    this.sweep();
    const bytes = leadBytes(ecg);
    this.remove(key);
    if (this.heldBytes + bytes > this.maxBytes) return false;
    this.entries.set(key, { ecg, bytes, at: this.now() });
    this.heldBytes += bytes;
    return true;
  }

  /** The ECG left for `key`, removed from here (a retry of the job reads the payload store), or undefined. */
  take(key: string): Ecg | undefined {
    this.sweep();
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.remove(key);
    return entry.ecg;
  }

  /** Drops what is held for `key` (its payload was deleted or replaced). */
  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.heldBytes -= entry.bytes;
  }

  /** Drops entries older than maxAgeMs. */
  private sweep(): void {
    const oldest = this.now() - this.maxAgeMs;
    for (const [key, entry] of this.entries) {
      if (entry.at >= oldest) return;
      this.remove(key);
    }
  }
}

/** Bytes of the lead arrays of `ecg` (what holding it costs). */
function leadBytes(ecg: Ecg): number {
  let bytes = 0;
  for (const lead of STANDARD_LEADS) bytes += ecg.leads[lead]?.byteLength ?? 0;
  return bytes;
}
