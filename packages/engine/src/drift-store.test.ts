import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DriftStore } from './drift-store.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `{ecgcad-test-drift-store-${process.pid}-${Date.now()}}`;
let scopes = 0;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** A store on its own scope, with a settable clock. */
function store(at = Date.parse('2026-12-04T05:00:00Z')) {
  const clock = { at };
  const drift = new DriftStore(redis, {
    scope: `${prefix}:${scopes++}`,
    bucketS: 3600,
    windowDays: 7,
    windowEcgs: 10_000,
    now: () => clock.at,
  });
  return { drift, clock };
}

const BINS = { amplitude: 4, noise: 4 };

describe('DriftStore', () => {
  it('sends the ECGs of one turn in one script call with summed increments, and counts each of them', async () => {
    const { drift } = store();
    const calls = vi.spyOn(redis, 'eval');
    try {
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          drift.record({ bins: { amplitude: i % 4, noise: 1 }, strata: { LAD: i < 4 ? 'high' : 'low' } }, 'fp'),
        ),
      );
      expect(calls).toHaveBeenCalledTimes(1);
    } finally {
      calls.mockRestore();
    }
    const window = await drift.window('fp', BINS);
    expect(window.n).toBe(16);
    expect(window.measures).toEqual({ amplitude: [4, 4, 4, 4], noise: [0, 16, 0, 0] });
    expect(window.strata).toEqual({ LAD: { high: 4, low: 12 } });
  });

  it('keeps ECGs of later turns and of another bucket apart, and loses none', async () => {
    const { drift, clock } = store();
    const calls = vi.spyOn(redis, 'eval');
    try {
      await drift.record({ bins: { amplitude: 0 }, strata: {} }, 'fp');
      await drift.record({ bins: { amplitude: 1 }, strata: {} }, 'fp');
      // The same turn, across an hour boundary: two hashes, a call each.
      const first = drift.record({ bins: { amplitude: 2 }, strata: {} }, 'fp');
      clock.at += 3600_000;
      const second = drift.record({ bins: { amplitude: 3 }, strata: {} }, 'fp');
      await Promise.all([first, second]);
      expect(calls).toHaveBeenCalledTimes(4);
    } finally {
      calls.mockRestore();
    }
    const window = await drift.window('fp', BINS);
    expect(window.n).toBe(4);
    expect(window.measures.amplitude).toEqual([1, 1, 1, 1]);
    expect(window.since).toBe('2026-12-04T05:00:00.000Z');
  });

  it('captures the rows of one turn in order, each told its place, and trims at the limit', async () => {
    const { drift } = store();
    const places = await Promise.all([1, 2, 3].map((v) => drift.capture({ v }, 5)));
    expect(places).toEqual([1, 2, 3]);
    const more = await Promise.all([4, 5, 6, 7].map((v) => drift.capture({ v }, 5)));
    expect(more).toEqual([4, 5, 5, 5]);
    expect(await drift.captured()).toEqual([1, 2, 3, 4, 5].map((v) => ({ v })));
  });

  it('fails every ECG of a turn whose write fails', async () => {
    const { drift } = store();
    // A key of the wrong type makes the HINCRBY fail inside the script.
    const scope = (drift as unknown as { options: { scope: string } }).options.scope;
    const start = Math.floor(Date.parse('2026-12-04T05:00:00Z') / 1000);
    await redis.set(`${scope}:fp:b:${start - (start % 3600)}`, 'not a hash');
    const results = await Promise.allSettled([
      drift.record({ bins: { noise: 0 }, strata: {} }, 'fp'),
      drift.record({ bins: { noise: 1 }, strata: {} }, 'fp'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
  });
});
