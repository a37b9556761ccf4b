import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CdsClientIdentity, startCdsClientIdentity } from '../../../../test/support/cds-support.js';
import { ClientAuthError, createClientAuthenticator } from './client-auth.js';
import { RedisReplayStore } from './redis-replay-store.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const AUD = 'https://cds.example.org/cds-services/ecgcad-ecg-cad-risk';

describe('RedisReplayStore (real Redis, real ES384 JWTs)', () => {
  const prefix = `{ecgcad-test-cds-jti-${randomUUID().slice(0, 8)}}`;
  let redis: Redis;
  let client: CdsClientIdentity;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    client = await startCdsClientIdentity();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
    await client?.close();
  });

  /** One engine process: its own authenticator (own JWK Set cache), the shared store. */
  const engineProcess = (store = new RedisReplayStore(redis, prefix)) =>
    createClientAuthenticator({ clients: [{ iss: client.iss, jwksUrl: client.jwksUrl }], replays: store });

  it('refuses a token replayed to another process that shares the store', async () => {
    const first = engineProcess();
    const second = engineProcess();
    const token = await client.sign(AUD);
    await expect(first(`Bearer ${token}`, AUD)).resolves.toMatchObject({ iss: client.iss });
    const replay = second(`Bearer ${token}`, AUD);
    await expect(replay).rejects.toBeInstanceOf(ClientAuthError);
    await expect(replay).rejects.toThrow(/replay/);
    // Another token of the same client is still accepted by either.
    await expect(second(`Bearer ${await client.sign(AUD)}`, AUD)).resolves.toMatchObject({ iss: client.iss });
  });

  it('keeps each id only until its token expires, under a hashed key', async () => {
    const store = new RedisReplayStore(redis, prefix);
    const id = 'iss\u0000a-very-long-jti'.repeat(50);
    const now = Date.now();
    expect(await store.add(id, now + 5_000, now)).toBe(true);
    const key = `${prefix}:cds:jti:${createHash('sha256').update(id).digest('hex')}`;
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(3_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    expect(await store.add(id, now + 5_000, now)).toBe(false);
  });

  it('fails closed when Redis cannot answer: the call is refused, not let through', async () => {
    const broken = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    try {
      const check = engineProcess(new RedisReplayStore(broken, prefix));
      const attempt = check(`Bearer ${await client.sign(AUD)}`, AUD);
      await expect(attempt).rejects.toBeInstanceOf(ClientAuthError);
      await expect(attempt).rejects.toThrow(/replay check unavailable/);
    } finally {
      broken.disconnect();
    }
  });
});
