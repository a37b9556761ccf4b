import { PermanentError, TransientError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './http.js';
import { classifyError, deliverWithRetry } from './retry.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');
  it('reads delta-seconds and HTTP dates, never negative (the retry policy caps them)', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999', now)).toBe(999_999_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('classifyError', () => {
  it('treats TransientError and unknown errors as transient, PermanentError as permanent', () => {
    expect(classifyError(new TransientError('x'))).toBe('transient');
    expect(classifyError(new Error('x'))).toBe('transient');
    expect(classifyError(new PermanentError('x'))).toBe('permanent');
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
  it("stops at once on a permanent fault and after the policy's attempts on transient ones", async () => {
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
        { attempts: 4, baseDelayMs: 1 },
      ),
    ).rejects.toThrow('down');
    expect(calls).toBe(4);
  });
  it("waits the policy's delay, and an EHR's Retry-After up to the policy's cap", async () => {
    const delays: number[] = [];
    let calls = 0;
    await deliverWithRetry(
      async () => {
        calls++;
        if (calls === 1) throw new TransientError('EHR answered 429', { retryAfterMs: 40 });
        if (calls === 2) throw new TransientError('EHR answered 429', { retryAfterMs: 60_000 });
        if (calls === 3) throw new TransientError('EHR answered 503');
      },
      { baseDelayMs: 4, maxRetryAfterMs: 50, random: () => 0, onRetry: (_e, _n, delay) => delays.push(delay) },
    );
    expect(delays).toEqual([40, 50, 8]);
  });
});
