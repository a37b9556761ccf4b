/**
 * The claim-check store: encoded payloads (raw bytes or an encoded Ecg) live here, jobs carry only their key.
 * This is the contract and the in-memory store of embedded mode; the Redis store of queued mode is
 * RedisPayloadStore in @ecgcad/queue.
 */
import { createHash } from 'node:crypto';

/**
 * Where payloads wait between stages. Implementations throw TransientError when the backend is unreachable. The
 * bytes given to put and putIfAbsent must not change until the returned promise settles (the Redis store writes
 * them to its socket as they are, without a copy).
 */
export interface PayloadStore {
  /** Stores bytes under `key`, replacing what was there. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /**
   * Stores bytes under `key` only when nothing is there; true when it stored them. Lets the intake write a payload
   * in the same round trip as its job look-up without touching a payload another job already owns.
   */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean>;
  /** The bytes under `key`, or undefined when absent or expired. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Removes `key` (no error when absent). */
  delete(key: string): Promise<void>;
}

/** What a payload holds: the raw bytes a feed received, or the decoded Ecg in the payload codec. */
export type PayloadKind = 'raw' | 'ecg';

/**
 * The store key for one ECG's payload. The ECG id goes in hashed (ids may hold any character), so keys are
 * fixed-length and safe for every backend. Stable: the same ECG always gets the same key (a resend overwrites).
 */
export function payloadKey(kind: PayloadKind, ecgIdOrSha256: string): string {
  return `${kind}:${createHash('sha256').update(ecgIdOrSha256).digest('hex').slice(0, 40)}`;
}

/** Payloads in this process's memory (embedded mode). Copies on put so callers may reuse their buffers. */
export class MemoryPayloadStore implements PayloadStore {
  private readonly map = new Map<string, Uint8Array>();

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.map.set(key, bytes.slice());
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    if (this.map.has(key)) return false;
    this.map.set(key, bytes.slice());
    return true;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.map.get(key);
  }

  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }

  /** Number of payloads held. */
  get size(): number {
    return this.map.size;
  }
}
