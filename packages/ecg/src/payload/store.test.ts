import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, TransientError } from '../errors.js';
import { MemoryPayloadStore, payloadKey, RedisPayloadStore } from './store.js';

describe('payloadKey', () => {
  it('is stable, kind-specific and free of the id characters', () => {
    expect(payloadKey('ecg', 'sha256:ab')).toBe(payloadKey('ecg', 'sha256:ab'));
    expect(payloadKey('ecg', 'x')).not.toBe(payloadKey('raw', 'x'));
    expect(payloadKey('ecg', '1.2.3^ext')).toMatch(/^ecg:[0-9a-f]{40}$/);
  });
});

describe('MemoryPayloadStore', () => {
  it('stores a copy, reads it back and deletes it', async () => {
    const store = new MemoryPayloadStore();
    const bytes = Uint8Array.from([1, 2, 3]);
    await store.put('k', bytes);
    bytes[0] = 9;
    expect(Array.from((await store.get('k'))!)).toEqual([1, 2, 3]);
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
    expect(store.size).toBe(0);
  });
});

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
