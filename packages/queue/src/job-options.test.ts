import { DEFAULT_RETRY_POLICY, TransientError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { stageBackoffStrategy, stageJobOptions } from './job-options.js';

describe('stageJobOptions', () => {
  it("defaults to the policy's attempts, the custom backoff, and bounded history", () => {
    expect(stageJobOptions()).toEqual({
      attempts: DEFAULT_RETRY_POLICY.attempts,
      backoff: { type: 'custom' },
      removeOnComplete: { age: 86_400, count: 200_000 },
      removeOnFail: { age: 7 * 86_400 },
    });
  });

  it('takes the attempts it is given', () => {
    expect(stageJobOptions({ attempts: 3 }).attempts).toBe(3);
  });
});

describe('stageBackoffStrategy', () => {
  it("gives the policy's delays: exponential within jitter, capped, and a Retry-After honoured up to its cap", () => {
    const strategy = stageBackoffStrategy({ baseDelayMs: 100, factor: 3, maxDelayMs: 1000, maxRetryAfterMs: 8000 });
    for (let i = 0; i < 20; i++) {
      expect(strategy(1)).toBeGreaterThanOrEqual(50);
      expect(strategy(1)).toBeLessThanOrEqual(100);
      expect(strategy(3)).toBeGreaterThanOrEqual(450);
      expect(strategy(3)).toBeLessThanOrEqual(900);
      expect(strategy(10)).toBeLessThanOrEqual(1000);
    }
    expect(strategy(1, 'custom', new TransientError('EHR answered 429', { retryAfterMs: 7000 }))).toBe(7000);
    expect(strategy(1, 'custom', new TransientError('EHR answered 429', { retryAfterMs: 60_000 }))).toBe(8000);
  });
});
