/**
 * Retrying in-process (embedded mode, direct delivery): classify a failure as transient or permanent, and a small
 * retry loop whose attempts and delays are the engine's one retry policy (@ecgcad/ecg's RetryPolicy, the same
 * numbers the queued stages' BullMQ backoff uses), an EHR's Retry-After honoured up to the policy's cap.
 */
import { isTransient, type RetryPolicy, retryDelayMs, retryPolicy } from '@ecgcad/ecg';

/** What a retry policy should do with a failure. */
export type ErrorClass = 'transient' | 'permanent';

/** `transient` when a retry could succeed (EcgcadError.permanent false, or an unknown error), else `permanent`. */
export function classifyError(err: unknown): ErrorClass {
  return isTransient(err) ? 'transient' : 'permanent';
}

/** Options of deliverWithRetry: the policy's fields (defaults DEFAULT_RETRY_POLICY) and the loop's own. */
export interface RetryOptions extends Partial<RetryPolicy> {
  /** Stop waiting when aborted (the last error is thrown). */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log (the error message carries no patient data). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Random source in [0, 1) for jitter (tests pass a fixed one). Default Math.random. */
  random?: () => number;
}

/** Runs `fn` until it succeeds, a permanent error occurs, the policy's attempts run out or the signal aborts. */
export async function deliverWithRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal, onRetry, random, ...overrides } = options;
  const policy = retryPolicy(overrides);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (classifyError(err) === 'permanent' || attempt >= policy.attempts || signal?.aborted) throw err;
      const delay = retryDelayMs(policy, attempt, err, random);
      onRetry?.(err, attempt, delay);
      await sleep(delay, signal);
      if (signal?.aborted) throw err;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
