import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { coalesceWrites } from './coalesce-writes.js';

const prefix = `{ecgcad-test-coalesce-${process.pid}-${Date.now()}}`;
const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
coalesceWrites(redis);

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const socketOf = (r: Redis): Socket => (r as unknown as { stream: Socket }).stream;

/** Counts the socket's calls into the kernel-facing write paths (one syscall each) during `fn`. */
async function countWrites<T>(r: Redis, fn: () => Promise<T>): Promise<{ writes: number; chunks: number; value: T }> {
  const socket = socketOf(r) as unknown as {
    _write: (...a: unknown[]) => void;
    _writev: (chunks: unknown[], cb: unknown) => void;
  };
  const single = vi.spyOn(socket, '_write');
  const many = vi.spyOn(socket, '_writev');
  try {
    const value = await fn();
    const chunks = many.mock.calls.reduce((n, call) => n + (call[0] as unknown[]).length, 0);
    return {
      writes: single.mock.calls.length + many.mock.calls.length,
      chunks: chunks + single.mock.calls.length,
      value,
    };
  } finally {
    single.mockRestore();
    many.mockRestore();
  }
}

describe('coalesceWrites', () => {
  it('sends the commands of one turn in one socket write, in order, each with its own reply', async () => {
    await redis.ping();
    const { writes, chunks, value } = await countWrites(redis, () =>
      Promise.all([
        ...Array.from({ length: 20 }, (_, i) => redis.rpush(`${prefix}:list`, `v${i}`)),
        redis.lrange(`${prefix}:list`, 0, -1),
        redis.hincrby(`${prefix}:list`, 'f', 1).catch((err: Error) => err.message),
      ]),
    );
    expect(writes).toBe(1);
    expect(chunks).toBe(22);
    expect(value.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(value[20]).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    // A failing command fails alone, as without coalescing.
    expect(value[21]).toMatch(/WRONGTYPE/);
  });

  it('sends again in the next turn, and keeps coalescing after a reconnect', async () => {
    const first = await countWrites(redis, async () => {
      await redis.set(`${prefix}:a`, '1');
      return redis.get(`${prefix}:a`);
    });
    expect(first).toMatchObject({ writes: 2, value: '1' });
    const old = socketOf(redis);
    redis.disconnect(true);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    expect(socketOf(redis)).not.toBe(old);
    const again = await countWrites(redis, () => Promise.all([redis.incr(`${prefix}:n`), redis.incr(`${prefix}:n`)]));
    expect(again).toMatchObject({ writes: 1, value: [1, 2] });
  });
});
