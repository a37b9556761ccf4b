/**
 * The CDS `jti` replay check shared by every engine process on one Redis: behind a load balancer an EHR's token
 * replayed to another process is refused too. One `SET key 1 NX PXAT exp` per call: the key exists only while the
 * token could still be accepted, so nothing needs sweeping.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ReplayStore } from './client-auth.js';

/** A {@link ReplayStore} in Redis under `<prefix>:cds:jti:`. */
export class RedisReplayStore implements ReplayStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Records `key` until `expiresAtMs`; false when another call (of any process) recorded it first. */
  async add(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    // Hashed: the issuer and jti are the caller's strings, of any length; the key needs only to be unique.
    const id = createHash('sha256').update(key).digest('hex');
    // At least a second ahead: a time already past would store nothing and let the same token through twice.
    const until = Math.max(Math.ceil(expiresAtMs), Math.floor(nowMs) + 1000);
    const set = await this.redis.set(`${this.prefix}:cds:jti:${id}`, '1', 'PXAT', until, 'NX');
    return set === 'OK';
  }
}
