/**
 * Retry policy helpers: classify a failure as transient or permanent, compute the next delay (exponential backoff
 * with full jitter, never shorter than the server's Retry-After), and a small retry loop for embedded mode.
 * The queued pipeline uses `classifyError` / `retryDelayMs` in its BullMQ backoff instead of the loop.
 */
import { isTransient, TransientError } from '@ecgcad/ecg';

/** What a retry policy should do with a failure. */
export type ErrorClass = 'transient' | 'permanent';

/** `transient` when a retry could succeed (EcgcadError.permanent false, or an unknown error), else `permanent`. */
export function classifyError(err: unknown): ErrorClass {
  return isTransient(err) ? 'transient' : 'permanent';
}

/** Backoff options. */
export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap on any one delay (Retry-After included). Default 30 000 ms. */
  maxDelayMs?: number;
  /** Random source in [0, 1) for jitter (tests pass a fixed one). Default Math.random. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1 = first retry): base * 2^(attempt-1), with jitter between half and all
 * of it, capped at maxDelayMs, and at least the error's Retry-After.
 */
export function retryDelayMs(err: unknown, attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const random = options.random ?? Math.random;
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  const retryAfter = err instanceof TransientError ? (err.retryAfterMs ?? 0) : 0;
  return Math.min(max, Math.max(jittered, retryAfter));
}

/** Options of deliverWithRetry. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, the first included. Default 8. */
  maxAttempts?: number;
  /** Stop waiting when aborted (the last error is thrown). */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log (the error message carries no patient data). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn` until it succeeds, a permanent error occurs, attempts run out or the signal aborts. */
export async function deliverWithRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (classifyError(err) === 'permanent' || attempt >= maxAttempts || options.signal?.aborted) throw err;
      const delay = retryDelayMs(err, attempt, options);
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw err;
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
