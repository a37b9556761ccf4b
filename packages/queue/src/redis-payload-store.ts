/**
 * The claim-check store of queued mode: payloads in Redis, keys under the `{ecgcad}` hash tag (so they share the
 * queues' Cluster slot) with a TTL so nothing lingers. The contract (PayloadStore) and the in-memory store of
 * embedded mode live in @ecgcad/ecg.
 */
import { ConfigError, type PayloadStore, QUEUE_PREFIX, TransientError } from '@ecgcad/ecg';
import type { Redis } from 'ioredis';

/** Options of RedisPayloadStore. */
export interface RedisPayloadStoreOptions {
  /** Key prefix. Default `{ecgcad}:payload:` (QUEUE_PREFIX keeps the keys in the queues' Cluster slot). */
  prefix?: string;
  /**
   * Seconds a payload lives. Default 86 400 (24 h); the engine derives it from the queue retention (payloadTtlS in
   * retention.ts) so that a payload outlives the failed jobs kept for replay.
   */
  ttlS?: number;
}

/** What {@link RedisPayloadStore.putIfAbsentIn} needs of an ioredis pipeline: its SET, and the connection it goes on. */
export interface PayloadPipeline {
  set(key: string, value: Buffer, secondsToken: 'EX', seconds: number, nx: 'NX'): unknown;
  readonly redis?: unknown;
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

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    const reply = await this.call('store', () => this.setIfAbsent(key, bytes, (...args) => this.redis.set(...args)));
    return reply === 'OK';
  }

  /**
   * Queues putIfAbsent's write (the same SET NX, key and TTL) on `pipeline`, so that a caller sends it in the round
   * trip of its own commands. Returns how to read its reply from the pipeline's results (true: it stored; a refusal
   * throws the TransientError putIfAbsent throws), or undefined when the pipeline goes out on another connection
   * than this store's (it may reach another server or database): the caller then calls putIfAbsent.
   */
  putIfAbsentIn(
    pipeline: PayloadPipeline,
    key: string,
    bytes: Uint8Array,
  ): ((reply: [Error | null, unknown]) => boolean) | undefined {
    if (pipeline.redis !== this.redis) return undefined;
    this.setIfAbsent(key, bytes, (...args) => pipeline.set(...args));
    return ([error, result]) => {
      if (error) throw this.failure('store', error);
      return result === 'OK';
    };
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = await this.call('read', () => this.redis.getBuffer(this.prefix + key));
    return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  /**
   * Sets the TTL of the payload under `key` to `ttlS` (default the store's) from now: a job that fails into the
   * dead-letter set, or is replayed, keeps its payload as long as it may need it. False when the payload is gone.
   */
  async keep(key: string, ttlS = this.ttlS): Promise<boolean> {
    return (await this.call('extend', () => this.redis.expire(this.prefix + key, ttlS))) === 1;
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', () => this.redis.del(this.prefix + key));
  }

  /** The SET NX of putIfAbsent, through `set` (the connection's or a pipeline's): key, TTL and options in one place. */
  private setIfAbsent<T>(
    key: string,
    bytes: Uint8Array,
    set: (key: string, value: Buffer, secondsToken: 'EX', seconds: number, nx: 'NX') => T,
  ): T {
    return set(this.prefix + key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'EX', this.ttlS, 'NX');
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  private failure(what: string, cause: unknown): TransientError {
    return new TransientError(`payload store: could not ${what} a payload in Redis`, { cause });
  }
}
