/**
 * The claim-check store: encoded payloads (raw bytes or an encoded Ecg) live here, jobs carry only their key.
 * Redis in queued mode (keys under the `{ecgcad}` hash tag, so they share the queues' Cluster slot, with a TTL so
 * nothing lingers), memory in embedded mode.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from '../contracts.js';
import { ConfigError, TransientError } from '../errors.js';

/** Where payloads wait between stages. Implementations throw TransientError when the backend is unreachable. */
export interface PayloadStore {
  /** Stores bytes under `key`, replacing what was there. */
  put(key: string, bytes: Uint8Array): Promise<void>;
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

/** Options of RedisPayloadStore. */
export interface RedisPayloadStoreOptions {
  /** Key prefix. Default `{ecgcad}:payload:` (QUEUE_PREFIX keeps the keys in the queues' Cluster slot). */
  prefix?: string;
  /** Seconds a payload lives. Default 86 400 (24 h): longer than any retry schedule, short enough to bound memory. */
  ttlS?: number;
}

/** Payloads in Redis (SET with EX; GET as a Buffer). */
export class RedisPayloadStore implements PayloadStore {
  readonly prefix: string;
  readonly ttlS: number;
  private readonly redis: Redis;

  constructor(redis: Redis, options: RedisPayloadStoreOptions = {}) {
    this.redis = redis;
    this.prefix = options.prefix ?? `${QUEUE_PREFIX}:payload:`;
    this.ttlS = options.ttlS ?? 86_400;
    if (!Number.isInteger(this.ttlS) || this.ttlS <= 0)
      throw new ConfigError(['payloads.ttlS: must be a positive integer']);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.call('store', () =>
      this.redis.set(this.prefix + key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'EX', this.ttlS),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = await this.call('read', () => this.redis.getBuffer(this.prefix + key));
    return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', () => this.redis.del(this.prefix + key));
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new TransientError(`payload store: could not ${what} a payload in Redis`, { cause: err });
    }
  }
}

/** Payloads in this process's memory (embedded mode). Copies on put so callers may reuse their buffers. */
export class MemoryPayloadStore implements PayloadStore {
  private readonly map = new Map<string, Uint8Array>();

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.map.set(key, bytes.slice());
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
