import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { coalesceWrites, writesLeft } from './coalesce-writes.js';
import { RedisPayloadStore } from './redis-payload-store.js';

// Real Redis on 127.0.0.1:6379, keys of this run's own, removed afterwards.
const prefix = `ecgcad-test-coalesce-${randomUUID().slice(0, 8)}:`;
const connections: Redis[] = [];

function connect(): Redis {
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null, keyPrefix: prefix });
  connections.push(redis);
  return redis;
}

afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  // A connection without the prefix: the keys as Redis holds them.
  const admin = new Redis('redis://127.0.0.1:6379');
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
});

/** Counts the writes the connection's current socket hands the kernel (one `_write` or `_writev` each). */
function countSocketWrites(redis: Redis): { readonly count: number } {
  const socket = (redis as unknown as { stream: Record<string, (...args: unknown[]) => unknown> }).stream;
  const counter = { count: 0 };
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name] as (...args: unknown[]) => unknown;
    socket[name] = function (this: unknown, ...args: unknown[]) {
      counter.count++;
      return original.apply(this, args);
    };
  }
  return counter;
}

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));
const nextTimer = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('coalesceWrites (real Redis)', () => {
  it('sends the commands of one tick in one write, in order, with the replies each would have had', async () => {
    const redis = connect();
    await redis.ping();
    coalesceWrites(redis);
    const writes = countSocketWrites(redis);
    const replies = await Promise.all([
      redis.set('a', '1'),
      redis.incr('a'),
      redis.rpush('list', 'x', 'y'),
      redis.get('a'),
      redis.lrange('list', 0, -1),
    ]);
    expect(replies).toEqual(['OK', 2, 2, '2', ['x', 'y']]);
    expect(writes.count).toBe(1);
  });

  it('sends the commands of one turn of the event loop in one write, ticks and callbacks apart', async () => {
    const redis = connect();
    await redis.ping();
    coalesceWrites(redis);
    const writes = countSocketWrites(redis);
    const first = redis.incr('turn');
    await nextTick();
    const second = redis.incr('turn');
    expect(writes.count).toBe(0); // held to the turn's check phase
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(writes.count).toBe(1);
  });

  it('holds nothing past its turn: writesLeft resolves with the command written, before its reply', async () => {
    const redis = connect();
    await redis.ping();
    coalesceWrites(redis);
    const writes = countSocketWrites(redis);
    const first = redis.incr('turns');
    await writesLeft();
    expect(writes.count).toBe(1);
    // A command sent from a timer (the next turn) leaves in a write of its own.
    await nextTimer();
    const second = redis.incr('turns');
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(writes.count).toBe(2);
  });

  it('without it each command is its own write (what the coalescing saves)', async () => {
    const redis = connect();
    await redis.ping();
    const writes = countSocketWrites(redis);
    await Promise.all([redis.set('b', '1'), redis.incr('b'), redis.get('b')]);
    expect(writes.count).toBe(3);
  });

  it('goes on coalescing on the new socket after a reconnect', async () => {
    const redis = connect();
    await redis.ping();
    coalesceWrites(redis);
    const before = (redis as unknown as { stream: unknown }).stream;
    const ready = new Promise((resolve) => redis.once('ready', resolve));
    redis.disconnect(true);
    await ready;
    expect((redis as unknown as { stream: unknown }).stream).not.toBe(before);
    const writes = countSocketWrites(redis);
    expect(await Promise.all([redis.set('c', 'x'), redis.get('c'), redis.del('c')])).toEqual(['OK', 'x', 1]);
    expect(writes.count).toBe(1);
  });

  it("keeps a payload's bytes whole beside the payload store's own corking", async () => {
    const redis = connect();
    await redis.ping();
    coalesceWrites(redis);
    const store = new RedisPayloadStore(redis, { prefix: 'payload:' });
    const bytes = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) % 251);
    const writes = countSocketWrites(redis);
    const [, , read] = await Promise.all([redis.set('d', '1'), store.put('p', bytes), store.get('p'), redis.get('d')]);
    expect(Buffer.from(read as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
    expect(writes.count).toBe(1);
  });
});
