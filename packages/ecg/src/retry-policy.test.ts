import { describe, expect, it } from 'vitest';
import { TransientError } from './errors.js';
import { DEFAULT_RETRY_POLICY, retryAfterOf, retryDelayMs, retryPolicy } from './retry-policy.js';

describe('retryPolicy', () => {
  it('fills what is not given from the defaults, keeping what is', () => {
    expect(retryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
    expect(retryPolicy({ attempts: 3, baseDelayMs: undefined })).toEqual({ ...DEFAULT_RETRY_POLICY, attempts: 3 });
  });
});

describe('retryDelayMs', () => {
  const policy = retryPolicy({ baseDelayMs: 100, factor: 2, maxDelayMs: 5000, maxRetryAfterMs: 8000 });
  const mid = () => 0.5;

  it('backs off by the factor with jitter between half and all of the delay, within the cap', () => {
    expect(retryDelayMs(policy, 1, undefined, mid)).toBe(75);
    expect(retryDelayMs(policy, 3, undefined, mid)).toBe(300);
    expect(retryDelayMs(policy, 20, undefined, mid)).toBe(3750);
    expect(retryDelayMs(policy, 3, undefined, () => 0)).toBe(200);
    expect(retryDelayMs(policy, 3, undefined, () => 0.999_999)).toBe(400);
    expect(retryDelayMs(retryPolicy({ ...policy, factor: 3 }), 3, undefined, mid)).toBe(675);
  });

  it("honours a failure's Retry-After, capped at maxRetryAfterMs, but never waits less than the backoff", () => {
    expect(retryDelayMs(policy, 1, new TransientError('429', { retryAfterMs: 7000 }), mid)).toBe(7000);
    expect(retryDelayMs(policy, 1, new TransientError('429', { retryAfterMs: 60_000 }), mid)).toBe(8000);
    expect(retryDelayMs(policy, 20, new TransientError('429', { retryAfterMs: 10 }), mid)).toBe(3750);
    // The intake's retry outcome carries the same field.
    expect(retryDelayMs(policy, 1, { outcome: 'retry', retryAfterMs: 2000 }, mid)).toBe(2000);
  });

  it('reads Retry-After only from a finite retryAfterMs', () => {
    expect(retryAfterOf(new TransientError('x'))).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: Number.POSITIVE_INFINITY })).toBeUndefined();
    expect(retryAfterOf(new Error('x'))).toBeUndefined();
    expect(retryAfterOf(undefined)).toBeUndefined();
  });
});
