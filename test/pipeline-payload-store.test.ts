/** RedisPayloadStore against the real Redis on 127.0.0.1:6379 (a prefix of its own, removed afterwards). */
import { randomUUID } from 'node:crypto';
import { ConfigError, TransientError } from '@ecgcad/ecg';
import { RedisPayloadStore } from '@ecgcad/queue';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

describe('RedisPayloadStore (Redis on 127.0.0.1:6379)', () => {
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
  const prefix = `{ecgcad-test-${randomUUID()}}:payload:`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('round-trips binary bytes with a TTL under the prefix', async () => {
    const store = new RedisPayloadStore(redis, { prefix, ttlS: 60 });
    const bytes = new Uint8Array(256).map((_, i) => i);
    await store.put('ecg:1', bytes);
    expect(Buffer.from((await store.get('ecg:1'))!)).toEqual(Buffer.from(bytes));
    const ttl = await redis.ttl(`${prefix}ecg:1`);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    await store.delete('ecg:1');
    expect(await store.get('ecg:1')).toBeUndefined();
  });

  it('putIfAbsent() stores only where nothing is, with the TTL, and says whether it did', async () => {
    const store = new RedisPayloadStore(redis, { prefix, ttlS: 60 });
    expect(await store.putIfAbsent('ecg:nx', new Uint8Array([1, 2]))).toBe(true);
    expect(await store.putIfAbsent('ecg:nx', new Uint8Array([3, 4]))).toBe(false);
    expect([...((await store.get('ecg:nx')) ?? [])]).toEqual([1, 2]);
    expect(await redis.ttl(`${prefix}ecg:nx`)).toBeGreaterThan(50);
  });

  it('isOnConnection() is true for its own connection only (another may reach another server)', () => {
    const store = new RedisPayloadStore(redis, { prefix, ttlS: 60 });
    const other = redis.duplicate({ lazyConnect: true });
    expect(store.isOnConnection(redis)).toBe(true);
    expect(store.isOnConnection(other)).toBe(false);
    other.disconnect();
  });

  it('keep() resets the TTL from now (a failed or replayed job keeps its payload) and says when it is gone', async () => {
    const store = new RedisPayloadStore(redis, { prefix, ttlS: 600 });
    await store.put('ecg:keep', new Uint8Array([1, 2, 3]));
    await redis.expire(`${prefix}ecg:keep`, 5);
    expect(await store.keep('ecg:keep')).toBe(true);
    expect(await redis.pttl(`${prefix}ecg:keep`)).toBeGreaterThan(590_000);
    expect(await store.keep('ecg:keep', 30)).toBe(true);
    expect(await redis.ttl(`${prefix}ecg:keep`)).toBeLessThanOrEqual(30);
    expect(await store.keep('ecg:absent')).toBe(false);
  });

  it('defaults to the {ecgcad} hash tag and a 24 h TTL, and refuses a bad TTL', () => {
    const store = new RedisPayloadStore(redis);
    expect(store.prefix).toBe('{ecgcad}:payload:');
    expect(store.ttlS).toBe(86_400);
    expect(() => new RedisPayloadStore(redis, { ttlS: 0 })).toThrow(ConfigError);
  });

  it('turns an unreachable Redis into a TransientError', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    dead.on('error', () => {});
    const store = new RedisPayloadStore(dead, { prefix });
    await expect(store.put('x', new Uint8Array(1))).rejects.toBeInstanceOf(TransientError);
    dead.disconnect();
  });
});
