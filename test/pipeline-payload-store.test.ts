/** RedisPayloadStore against the real Redis on 127.0.0.1:6379 (a prefix of its own, removed afterwards). */
import { randomUUID } from 'node:crypto';
import { ConfigError, TransientError } from '@ecgcad/ecg';
import { RedisPayloadStore } from '@ecgcad/queue';
import { Queue } from 'bullmq';
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

  it('writes large payloads exactly, in order with the commands sent after them on the connection', async () => {
    const store = new RedisPayloadStore(redis, { prefix, ttlS: 60 });
    // Views into one buffer at odd offsets and sizes around the socket's chunking, written without awaiting, each
    // followed at once by a GET on the same connection: every GET sees its own SET, whole.
    const backing = new Uint8Array(700_000).map((_, i) => (i * 31 + (i >> 11)) % 256);
    const sizes = [0, 1, 4095, 65_536, 120_007, 200_000];
    const views = sizes.map((size, i) => backing.subarray(i * 13 + 1, i * 13 + 1 + size));
    const read = views.map((view, i) => {
      void store.put(`big:${i}`, view);
      return store.get(`big:${i}`);
    });
    const got = await Promise.all(read);
    expect(got.map((bytes) => Buffer.from(bytes ?? []))).toEqual(views.map((view) => Buffer.from(view)));
    expect(await store.putIfAbsent('big:4', views[3] as Uint8Array)).toBe(false);
    expect(await store.putIfAbsent('big:new', views[4] as Uint8Array)).toBe(true);
    expect(Buffer.from((await store.get('big:new')) ?? [])).toEqual(Buffer.from(views[4] as Uint8Array));
  });

  it("honours the connection's key prefix, auto-pipelining, and a write sent before the connection is up", async () => {
    const cases = [
      { name: 'keyPrefix', options: { keyPrefix: 'kp:' }, raw: 'kp:' },
      { name: 'auto-pipelining', options: { enableAutoPipelining: true }, raw: '' },
      { name: 'offline queue', options: {}, raw: '' },
    ];
    for (const { name, options, raw } of cases) {
      const connection = redis.duplicate({ lazyConnect: true, ...options });
      // Not connected yet: the command waits in ioredis's offline queue and is written once connected.
      const store = new RedisPayloadStore(connection, { prefix, ttlS: 60 });
      const bytes = new Uint8Array(100_000).map((_, i) => (i + name.length) % 251);
      const stored = store.put(`conn:${name}`, bytes);
      await connection.connect().catch(() => {}); // ioredis may already be connecting for the queued command
      await stored;
      expect(Buffer.from((await redis.getBuffer(`${raw}${prefix}conn:${name}`)) ?? []), name).toEqual(
        Buffer.from(bytes),
      );
      expect(Buffer.from((await store.get(`conn:${name}`)) ?? []), name).toEqual(Buffer.from(bytes));
      await connection.del(`${prefix}conn:${name}`);
      connection.disconnect();
    }
  });

  it('isOnConnection() is true for its own connection, also behind the Proxy BullMQ wraps it in, and for no other', async () => {
    const store = new RedisPayloadStore(redis, { prefix, ttlS: 60 });
    const other = redis.duplicate({ lazyConnect: true });
    const queue = new Queue('payload-store-test', { connection: redis, prefix: prefix.slice(0, -':payload:'.length) });
    try {
      await redis.ping(); // the socket exists once connected
      const bullmqClient = await queue.getBackend().client;
      expect(bullmqClient).not.toBe(redis);
      expect(store.isOnConnection(redis)).toBe(true);
      expect(store.isOnConnection(bullmqClient)).toBe(true);
      expect(store.isOnConnection(other)).toBe(false);
      expect(store.isOnConnection(undefined)).toBe(false);
    } finally {
      await queue.close();
      other.disconnect();
    }
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
