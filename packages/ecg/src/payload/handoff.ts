/**
 * Decoded ECGs handed from one stage to the next when both run in one process (`ecgcad serve`): from the feeds'
 * intake to the infer stage, and from the infer stage to the write stage (for the waveform), so the next stage need
 * not read the payload back from Redis and decode it again. Only an optimisation: the payload stays in the store
 * until the writer has delivered, and any job that finds nothing here (another process, a retry, an entry dropped
 * for room or age) reads and decodes the payload as before.
 *
 * Only payloads that hold a DICOM object as received go in: their key names the bytes (the data set's hash), and
 * both stages decode them with the same decoder and meta, so an entry is what the next stage's own decode would give
 * (for the writer, with the leads already as the integers it would find: withIntegerLeads).
 */
import { type Ecg, type LeadName, STANDARD_LEADS } from '../ecg.js';
import { type QuantisedLead, quantiseLead } from './codec.js';

/**
 * An ECG as a hand-off holds it: an Ecg, or, for the writer, one whose leads are held as their integers
 * (withIntegerLeads).
 */
export type HandedOffEcg = Ecg & {
  /** Leads held as their integers and quantum instead of Float32 samples (not also in `leads`). */
  quantised?: Partial<Record<LeadName, QuantisedLead>>;
};

/**
 * The ECG with every lead that quantises exactly (quantiseLead) held as its integers instead of its Float32
 * samples, for the write stage, which writes those integers into SampledData and needs no samples: what it would
 * find itself, in half the bytes (Int16 data; a lead whose data need Int32 takes as many bytes as its samples, and
 * the writer still need not quantise it again). The infer -> write hand-off holds its ECGs for as long as the EHR
 * keeps the writer waiting, so the same room holds twice the backlog, and the ECGs past it are read back from Redis
 * and decoded again half as often. Leads that do not quantise (a non-finite sample, -0) stay Float32.
 */
export function withIntegerLeads(ecg: Ecg): HandedOffEcg {
  const leads: Partial<Record<LeadName, Float32Array>> = {};
  const quantised: Partial<Record<LeadName, QuantisedLead>> = {};
  for (const lead of STANDARD_LEADS) {
    const samples = ecg.leads[lead];
    if (samples === undefined) continue;
    const integers = quantiseLead(samples);
    if (integers) quantised[lead] = integers;
    else leads[lead] = samples;
  }
  return { ...ecg, leads, quantised };
}

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
  ecg: HandedOffEcg;
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
  put(key: string, ecg: HandedOffEcg): boolean {
    this.sweep();
    const bytes = leadBytes(ecg);
    this.remove(key);
    if (this.heldBytes + bytes > this.maxBytes) return false;
    this.entries.set(key, { ecg, bytes, at: this.now() });
    this.heldBytes += bytes;
    return true;
  }

  /** The ECG left for `key`, removed from here (a retry of the job reads the payload store), or undefined. */
  take(key: string): HandedOffEcg | undefined {
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

/** Bytes of the lead arrays of `ecg`, samples and integers (what holding it costs). */
function leadBytes(ecg: HandedOffEcg): number {
  let bytes = 0;
  for (const lead of STANDARD_LEADS) {
    bytes += (ecg.leads[lead]?.byteLength ?? 0) + (ecg.quantised?.[lead]?.data.byteLength ?? 0);
  }
  return bytes;
}
