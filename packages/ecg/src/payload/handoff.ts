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
import { hintLeadQuantum, type LeadQuantum, leadQuantumHint } from './quantum.js';

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

/** One array of a held ECG: where its bytes lie in the entry's blocks, and what to make of them again. */
interface HeldArray {
  lead: LeadName;
  /** A lead's Float32 samples (with the decoder's quantum hint, if any), or its integers (with their quantum). */
  kind: 'samples' | 'i16' | 'i32';
  length: number;
  /** Byte offset in the entry's stream of blocks (a multiple of 4, so each view in take's buffer is aligned). */
  at: number;
  /** Undefined for samples the decoder gave no hint for. */
  quantum: LeadQuantum | undefined;
}

interface Entry {
  /** The ECG without its lead arrays (those are in the blocks). */
  shell: Ecg;
  arrays: HeldArray[];
  /** Bytes of the arrays (the stream's length, alignment included). */
  streamBytes: number;
  /** Bytes of lead samples held (what maxBytes counts). */
  bytes: number;
  blocks: Int32Array;
  at: number;
}

/**
 * Size of one block of a hand-off's store: a 10 s 12-lead ECG at 500 Hz takes four (Float32 samples) or two (Int16
 * integers), most of each used, in a few long copies.
 */
const BLOCK_BYTES = 64 * 1024;

/**
 * A bounded, in-process map from payload key to the ECG decoded from it.
 *
 * It keeps the bytes of the lead arrays in blocks of one buffer, made on first use and kept, copied in by `put` and
 * out by `take` into a new buffer; not the arrays it was given. Why: V8 starts a full collection whenever the
 * ArrayBuffer memory allocated since the last one, and not yet freed, passes 64 MB (a constant of V8's, no flag), and
 * a buffer held through two young-generation collections is freed by a full collection only. Entries wait here as
 * long as the next stage is behind (the writer's backlog while the EHR is the slowest part: seconds), so each ECG
 * that went through a hand-off counted 120-360 KB towards the next full collection: at full blast one every 200-250
 * ECGs, each marking and sweeping the whole heap on V8's helper threads (bench/ab, session 25: helper threads 0.72 ->
 * 0.27 ms of CPU per ECG, full collections 4 -> 0-1 per 1,000 ECGs; docs/PERFORMANCE.md). The copies cost the main
 * thread 0.15-0.2 ms per ECG (both hand-offs, 10 s at 500 Hz) and die young. The blocks are reused, last freed
 * first, so only as many pages are touched as the most the hand-off has held; they stay with the process (at most
 * maxBytes and 1/16 more).
 */
export class EcgHandoff {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  private readonly now: () => number;
  /** In insertion order, which is age order: the oldest entries are swept from the front. */
  private readonly entries = new Map<string, Entry>();
  private heldBytes = 0;
  private readonly store: BlockStore;

  constructor(options: EcgHandoffOptions = {}) {
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.now = options.now ?? Date.now;
    // Room for maxBytes, plus the part of a block each entry may leave unused (1 in 16 more: ECGs of a few blocks
    // leave less than that; many small ones find the blocks full first, which reads as a full hand-off).
    const blocks = Math.ceil(this.maxBytes / BLOCK_BYTES);
    this.store = new BlockStore(blocks + Math.ceil(blocks / 16));
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
   * Leaves a copy of `ecg` for the next stage's job of `key`'s payload. When full it keeps what it holds (jobs are
   * taken oldest first, so those are the ones wanted next) and takes nothing; returns whether it took `ecg`.
   */
  put(key: string, ecg: HandedOffEcg): boolean {
    this.sweep();
    this.remove(key);
    const { arrays, data, streamBytes, bytes } = layOut(ecg);
    const count = Math.ceil(streamBytes / BLOCK_BYTES);
    if (this.heldBytes + bytes > this.maxBytes || count > this.store.freeBlocks) return false;
    const blocks = this.store.take(count);
    for (let i = 0; i < arrays.length; i++) {
      const d = data[i] as HeldData;
      this.store.write(blocks, (arrays[i] as HeldArray).at, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
    const { leads: _leads, quantised: _quantised, ...rest } = ecg;
    this.entries.set(key, { shell: { ...rest, leads: {} }, arrays, streamBytes, bytes, blocks, at: this.now() });
    this.heldBytes += bytes;
    return true;
  }

  /**
   * The ECG left for `key` (a copy, its arrays in one new buffer), removed from here (a retry of the job reads the
   * payload store), or undefined.
   */
  take(key: string): HandedOffEcg | undefined {
    this.sweep();
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Not zeroed first: every byte is copied over.
    const buffer = Buffer.allocUnsafeSlow(entry.streamBytes).buffer;
    const leads: Partial<Record<LeadName, Float32Array>> = {};
    const quantised: Partial<Record<LeadName, QuantisedLead>> = {};
    let anyQuantised = false;
    for (const a of entry.arrays) {
      const data =
        a.kind === 'samples'
          ? new Float32Array(buffer, a.at, a.length)
          : a.kind === 'i16'
            ? new Int16Array(buffer, a.at, a.length)
            : new Int32Array(buffer, a.at, a.length);
      this.store.read(entry.blocks, a.at, new Uint8Array(buffer, a.at, data.byteLength));
      if (data instanceof Float32Array) {
        if (a.quantum) hintLeadQuantum(data, a.quantum);
        leads[a.lead] = data;
      } else {
        const { origin, factor } = a.quantum as LeadQuantum;
        quantised[a.lead] = { origin, factor, data };
        anyQuantised = true;
      }
    }
    this.remove(key);
    const ecg: HandedOffEcg = { ...entry.shell, leads };
    if (anyQuantised) ecg.quantised = quantised;
    return ecg;
  }

  /** Drops what is held for `key` (its payload was deleted or replaced). */
  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.heldBytes -= entry.bytes;
    this.store.release(entry.blocks);
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

const pad4 = (n: number): number => (n + 3) & ~3;

type HeldData = Float32Array | Int16Array | Int32Array;

/**
 * Where `put` lays the lead arrays of `ecg` out in one stream: each array's record (its place, and what `take` makes
 * of it), the arrays themselves in the same order, the stream's length and the arrays' bytes.
 */
interface Layout {
  arrays: HeldArray[];
  data: HeldData[];
  streamBytes: number;
  bytes: number;
}

function layOut(ecg: HandedOffEcg): Layout {
  const layout: Layout = { arrays: [], data: [], streamBytes: 0, bytes: 0 };
  for (const lead of STANDARD_LEADS) {
    const samples = ecg.leads[lead];
    if (samples !== undefined) {
      append(layout, lead, 'samples', leadQuantumHint(samples), samples);
    }
    const q = ecg.quantised?.[lead];
    if (q !== undefined) {
      const kind = q.data instanceof Int16Array ? 'i16' : 'i32';
      append(layout, lead, kind, { origin: q.origin, factor: q.factor }, q.data);
    }
  }
  return layout;
}

/** Adds an array at the end of the layout's stream (each array starts on a multiple of 4), with its record. */
function append(
  layout: Layout,
  lead: LeadName,
  kind: HeldArray['kind'],
  quantum: LeadQuantum | undefined,
  array: HeldData,
): void {
  layout.arrays.push({ lead, kind, length: array.length, at: layout.streamBytes, quantum });
  layout.data.push(array);
  layout.streamBytes += pad4(array.byteLength);
  layout.bytes += array.byteLength;
}

/**
 * Blocks of BLOCK_BYTES in one buffer, made on first use and kept; the free ones on a stack, so the blocks last freed
 * (still in the CPU's caches, and the only pages touched when the hand-off holds little) are the first taken again.
 * An entry's bytes are one stream over its blocks, in the order they were taken.
 */
class BlockStore {
  #buffer: Uint8Array | undefined;
  readonly #free: Int32Array;
  #freeCount: number;

  constructor(readonly blocks: number) {
    this.#free = new Int32Array(blocks);
    // Block 0 on top.
    for (let i = 0; i < blocks; i++) this.#free[i] = blocks - 1 - i;
    this.#freeCount = blocks;
  }

  get freeBlocks(): number {
    return this.#freeCount;
  }

  /** `count` free blocks (the caller checked that there are). */
  take(count: number): Int32Array {
    this.#freeCount -= count;
    return this.#free.slice(this.#freeCount, this.#freeCount + count);
  }

  release(blocks: Int32Array): void {
    this.#free.set(blocks, this.#freeCount);
    this.#freeCount += blocks.length;
  }

  /** Copies `src` into the stream of `blocks` from its byte `at`. */
  write(blocks: Int32Array, at: number, src: Uint8Array): void {
    this.#buffer ??= new Uint8Array(this.blocks * BLOCK_BYTES);
    this.#copy(blocks, at, src, true);
  }

  /** Copies the stream of `blocks` from its byte `at` into `dst`. */
  read(blocks: Int32Array, at: number, dst: Uint8Array): void {
    this.#copy(blocks, at, dst, false);
  }

  /** Copies between `bytes` and the stream of `blocks` from its byte `at`, a block's part at a time. */
  #copy(blocks: Int32Array, at: number, bytes: Uint8Array, intoStore: boolean): void {
    const buffer = this.#buffer as Uint8Array;
    for (let done = 0; done < bytes.length; ) {
      const pos = at + done;
      const within = pos % BLOCK_BYTES;
      const n = Math.min(BLOCK_BYTES - within, bytes.length - done);
      const place = (blocks[(pos - within) / BLOCK_BYTES] as number) * BLOCK_BYTES + within;
      if (intoStore) buffer.set(bytes.subarray(done, done + n), place);
      else bytes.set(buffer.subarray(place, place + n), done);
      done += n;
    }
  }
}
