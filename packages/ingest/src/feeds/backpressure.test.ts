import { isTransient, TransientError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { EngineBusyError, withBackpressure } from './backpressure.js';
import type { Intake } from './intake.js';

const meta = { feed: 'http', receivedAt: '2026-01-01T00:00:00.000Z' };
const bytes = new Uint8Array([1, 2, 3]);

function countingIntake(): Intake & { calls: number } {
  const intake = Object.assign(
    async () => {
      intake.calls += 1;
      return { ecgId: `ecg-${intake.calls}` };
    },
    { calls: 0 },
  );
  return intake;
}

describe('withBackpressure', () => {
  it('passes ECGs through while the depth is at or under the bound', async () => {
    const intake = countingIntake();
    const guarded = withBackpressure(intake, { depth: async () => 10, maxDepth: 10, retryAfterMs: 5000 });
    await expect(guarded(bytes, meta)).resolves.toEqual({ ecgId: 'ecg-1' });
    expect(intake.calls).toBe(1);
  });

  it('refuses with a transient EngineBusyError carrying Retry-After once over the bound', async () => {
    const intake = countingIntake();
    const guarded = withBackpressure(intake, { depth: async () => 11, maxDepth: 10, retryAfterMs: 7000 });
    const err = await guarded(bytes, meta).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineBusyError);
    expect(isTransient(err)).toBe(true);
    expect((err as EngineBusyError).retryAfterMs).toBe(7000);
    expect((err as Error).message).toMatch(/engine busy/);
    expect(intake.calls).toBe(0);
  });

  it('reads the depth once per cache period and again after it', async () => {
    let t = 0;
    let reads = 0;
    const guarded = withBackpressure(countingIntake(), {
      depth: async () => {
        reads += 1;
        return 0;
      },
      maxDepth: 5,
      retryAfterMs: 1000,
      cacheMs: 100,
      now: () => t,
    });
    await Promise.all([guarded(bytes, meta), guarded(bytes, meta), guarded(bytes, meta)]);
    expect(reads).toBe(1);
    t = 150;
    await guarded(bytes, meta);
    expect(reads).toBe(2);
  });

  it('turns a failing depth reading into a transient refusal and asks again next time', async () => {
    let fail = true;
    const guarded = withBackpressure(countingIntake(), {
      depth: async () => {
        if (fail) throw new Error('connection refused 10.0.0.1:6379');
        return 0;
      },
      maxDepth: 5,
      retryAfterMs: 1000,
    });
    const err = await guarded(bytes, meta).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).not.toMatch(/10\.0\.0\.1/);
    fail = false;
    await expect(guarded(bytes, meta)).resolves.toEqual({ ecgId: 'ecg-1' });
  });

  it('is the intake itself when the bound is 0', () => {
    const intake = countingIntake();
    expect(withBackpressure(intake, { depth: async () => 1e9, maxDepth: 0, retryAfterMs: 1 })).toBe(intake);
  });
});
