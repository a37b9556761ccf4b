/**
 * Backpressure for every feed: an Intake wrapper that refuses new ECGs with a TransientError while the queue behind
 * it is deeper than a bound, so a sender hears "retry later" (HTTP 503 + Retry-After, C-STORE 0xA700, the folder feed
 * keeps the file) instead of handing over work the engine cannot finish in time. The depth is read at most once per
 * `cacheMs`, so a flood of senders costs Redis one count, not one per request.
 */
import { TransientError } from '@ecgcad/ecg';
import type { Intake } from './intake.js';

/** Options of {@link withBackpressure}. */
export interface BackpressureOptions {
  /** Current depth of the queue behind the intake (e.g. infer jobs waiting). May throw: that is transient too. */
  depth(): Promise<number>;
  /** Refuse while the depth is above this. 0 or less turns the check off. */
  maxDepth: number;
  /** Retry-After to hand the sender, in milliseconds. */
  retryAfterMs: number;
  /** How long one depth reading is reused. Default 250 ms. */
  cacheMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Thrown (as a TransientError) while the engine is over its bound. */
export class EngineBusyError extends TransientError {}

/** Wraps an intake with the depth check. With `maxDepth <= 0`, returns the intake unchanged. */
export function withBackpressure(intake: Intake, options: BackpressureOptions): Intake {
  if (options.maxDepth <= 0) return intake;
  const cacheMs = options.cacheMs ?? 250;
  const now = options.now ?? Date.now;
  let reading: { at: number; depth: Promise<number> } | undefined;

  const currentDepth = (): Promise<number> => {
    const t = now();
    if (!reading || t - reading.at >= cacheMs) {
      const depth = options.depth();
      reading = { at: t, depth };
      // A failed reading is not reused: the next request asks again.
      depth.catch(() => {
        if (reading?.depth === depth) reading = undefined;
      });
    }
    return reading.depth;
  };

  return async (bytes, meta) => {
    let depth: number;
    try {
      depth = await currentDepth();
    } catch (err) {
      throw new TransientError('queue unavailable: could not read the queue depth', {
        cause: err,
        retryAfterMs: options.retryAfterMs,
      });
    }
    if (depth > options.maxDepth) {
      throw new EngineBusyError(`engine busy: ${depth} ECGs waiting (bound ${options.maxDepth}); retry later`, {
        retryAfterMs: options.retryAfterMs,
      });
    }
    return intake(bytes, meta);
  };
}
