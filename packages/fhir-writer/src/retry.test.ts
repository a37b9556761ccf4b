import { PermanentError, TransientError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './http.js';
import { classifyError, deliverWithRetry, retryDelayMs } from './retry.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');
  it('reads delta-seconds and HTTP dates, capped and never negative', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999', now)).toBe(600_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('classifyError / retryDelayMs', () => {
  it('treats TransientError and unknown errors as transient, PermanentError as permanent', () => {
    expect(classifyError(new TransientError('x'))).toBe('transient');
    expect(classifyError(new Error('x'))).toBe('transient');
    expect(classifyError(new PermanentError('x'))).toBe('permanent');
  });
  it('backs off exponentially with jitter, within the cap, and honours Retry-After', () => {
    const mid = { random: () => 0.5, baseDelayMs: 100, maxDelayMs: 5000 };
    expect(retryDelayMs(new Error('x'), 1, mid)).toBe(75);
    expect(retryDelayMs(new Error('x'), 3, mid)).toBe(300);
    expect(retryDelayMs(new Error('x'), 20, mid)).toBe(3750);
    expect(retryDelayMs(new TransientError('x', { retryAfterMs: 2000 }), 1, mid)).toBe(2000);
    expect(retryDelayMs(new TransientError('x', { retryAfterMs: 60_000 }), 1, mid)).toBe(5000);
  });
});

describe('deliverWithRetry', () => {
  it('retries transient faults until success', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await deliverWithRetry(
      async () => {
        calls++;
        if (calls < 3) throw new TransientError('down');
        return 'ok';
      },
      { baseDelayMs: 1, onRetry: (_e, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });
  it('stops at once on a permanent fault and after maxAttempts on transient ones', async () => {
    let calls = 0;
    await expect(
      deliverWithRetry(async () => {
        calls++;
        throw new PermanentError('bad');
      }),
    ).rejects.toThrow('bad');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      deliverWithRetry(
        async () => {
          calls++;
          throw new TransientError('down');
        },
        { maxAttempts: 4, baseDelayMs: 1 },
      ),
    ).rejects.toThrow('down');
    expect(calls).toBe(4);
  });
});
