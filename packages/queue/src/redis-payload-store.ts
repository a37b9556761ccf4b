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

/**
 * Stores a payload unless a job hash stands under the job key (KEYS[1]; then only where no payload is, as SET NX),
 * for the intake, which sends it in one pipeline with the job's add. Answers {job stood before, payload written}.
 * KEYS[2]: the payload key; ARGV[1]: the payload; ARGV[2]: the TTL in seconds.
 */
const STORE_UNLESS_JOB = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
  return {0, 1}
end
if redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2], 'NX') then return {1, 1} end
return {1, 0}
`;

/** The part of an ioredis pipeline that {@link RedisPayloadStore.queueStoreUnlessJob} uses. */
export interface EvalPipeline {
  eval(script: string, numKeys: number, ...args: (string | Buffer | number)[]): unknown;
}

/** The slot-deciding part of a Redis key: the first non-empty {hash tag}, else the whole key (Redis Cluster rule). */
function hashSlotPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
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
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return (await this.call('store', () => this.redis.set(this.prefix + key, buffer, 'EX', this.ttlS, 'NX'))) === 'OK';
  }

  /**
   * True when `client` is this store's own connection (the ioredis instance itself, or BullMQ's wrapper of it, which
   * hands through the instance's options object) and a script may touch both `jobKey` and payload `key` (one
   * Cluster slot, or no Cluster): then a pipeline of `client` can carry {@link queueStoreUnlessJob}.
   */
  canPipelineWith(client: unknown, jobKey: string, key: string): boolean {
    const other = client as { options?: unknown; isCluster?: boolean } | null;
    if (other === null || typeof other !== 'object') return false;
    if (other !== (this.redis as unknown) && other.options !== this.redis.options) return false;
    return this.redis.isCluster !== true || hashSlotPart(jobKey) === hashSlotPart(this.prefix + key);
  }

  /**
   * Queues on `pipeline` (of this store's connection: {@link canPipelineWith}) the payload's write for an intake:
   * stored (replacing any copy) when no job hash stands under `jobKey`, else only where no payload is (SET NX).
   * The pipeline's result for it is [job stood before (0 | 1), payload written (0 | 1)].
   */
  queueStoreUnlessJob(pipeline: EvalPipeline, jobKey: string, key: string, bytes: Uint8Array): void {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    pipeline.eval(STORE_UNLESS_JOB, 2, jobKey, this.prefix + key, buffer, this.ttlS);
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

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new TransientError(`payload store: could not ${what} a payload in Redis`, { cause: err });
    }
  }
}
