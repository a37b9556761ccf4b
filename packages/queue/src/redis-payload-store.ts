/**
 * The claim-check store of queued mode: payloads in Redis, keys under the `{ecgcad}` hash tag (so they share the
 * queues' Cluster slot) with a TTL so nothing lingers. The contract (PayloadStore) and the in-memory store of
 * embedded mode live in @ecgcad/ecg.
 */
import { ConfigError, type PayloadStore, QUEUE_PREFIX, TransientError } from '@ecgcad/ecg';
import type { Redis } from 'ioredis';
import { PayloadSetCommand } from './payload-set-command.js';

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

/** Payloads in Redis (SET with EX, the bytes written without a copy; GET as a Buffer). */
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
    await this.call('store', () => this.set(key, bytes, ['EX', String(this.ttlS)]));
  }

  /**
   * True when `client` writes to this store's connection: the store's commands and the caller's then reach Redis, and
   * run, in the order they were sent (the queued intake sends the payload's write, then the job's add, without
   * waiting). BullMQ hands out its connection behind a Proxy (createIORedisClient) that is not this object but reads
   * through to it, so the test is the socket both write to.
   */
  isOnConnection(client: unknown): boolean {
    if (client === this.redis) return true;
    const socket = this.redis.stream as unknown;
    return socket !== undefined && socket !== null && (client as { stream?: unknown } | null)?.stream === socket;
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    return (await this.call('store', () => this.set(key, bytes, ['EX', String(this.ttlS), 'NX']))) === 'OK';
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

  /**
   * SET of the payload's bytes as they are (PayloadSetCommand: no copy of the payload into a command buffer), except
   * with auto-pipelining, where ioredis writes commands into a pipeline's buffer and the copy is needed.
   */
  private set(key: string, bytes: Uint8Array, options: string[]): Promise<unknown> {
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { enableAutoPipelining, keyPrefix } = this.redis.options;
    if (enableAutoPipelining) return this.redis.call('set', this.prefix + key, value, ...options);
    const command = new PayloadSetCommand(this.prefix + key, value, options, keyPrefix);
    this.redis.sendCommand(command);
    return command.promise;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new TransientError(`payload store: could not ${what} a payload in Redis`, { cause: err });
    }
  }
}
