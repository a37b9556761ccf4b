/**
 * The one retry policy of the engine: how often and how long a transient fault is retried, by every stage in
 * queued mode (BullMQ's custom backoff), in embedded mode, in FHIR delivery and by the folder feed. Pure: the
 * delay before a retry from the policy, the retry's number and the failure (whose Retry-After it honours, capped).
 */
import type { TransientError } from './errors.js';

/** Attempts and backoff, defined once; the engine's config (`retry`) sets the same fields. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Delay before the first retry, ms. */
  baseDelayMs: number;
  /** Each further retry waits this many times longer. */
  factor: number;
  /** Cap on the backoff delay, ms. */
  maxDelayMs: number;
  /** Cap on a server's Retry-After that is honoured, ms (an EHR asking for an hour does not stall a job an hour). */
  maxRetryAfterMs: number;
}

/**
 * The defaults: 12 attempts, 1 s doubling to at most 10 min; about 14-27 minutes of retries in all (jitter), long
 * enough to ride out an EHR restart or a Redis failover. A Retry-After is honoured up to 10 min.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 12,
  baseDelayMs: 1000,
  factor: 2,
  maxDelayMs: 600_000,
  maxRetryAfterMs: 600_000,
});

/** The default policy with `overrides` on top (undefined fields keep their default). */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY };
  for (const key of Object.keys(policy) as Array<keyof RetryPolicy>) {
    const value = overrides[key];
    if (value !== undefined) policy[key] = value;
  }
  return policy;
}

/** The Retry-After (ms) a failure carries: {@link TransientError}'s `retryAfterMs` (or the same field elsewhere). */
export function retryAfterOf(err: unknown): number | undefined {
  const value = typeof err === 'object' && err !== null ? (err as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Delay before retry number `retry` (1 = the first retry): baseDelayMs * factor^(retry-1), capped at maxDelayMs,
 * with jitter between half and all of it (so retries of many jobs spread out), and never shorter than the
 * failure's Retry-After, itself capped at maxRetryAfterMs. `random` in [0, 1) (tests pass a fixed one).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  err?: unknown,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** Math.max(0, retry - 1));
  const jittered = Math.round(exp / 2 + random() * (exp / 2));
  const retryAfter = Math.min(policy.maxRetryAfterMs, Math.max(0, retryAfterOf(err) ?? 0));
  return Math.max(jittered, retryAfter);
}
