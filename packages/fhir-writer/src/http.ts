/** HTTP helpers shared by the FHIR client and the token client: timeouts, fault classification, Retry-After. */
import { TransientError } from '@ecgcad/ecg';

/** fetch with a timeout (and an optional caller signal). Network faults and timeouts become TransientError. */
export async function fetchWithTimeout(
  url: string,
  init: RequestInit,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
  try {
    return await fetch(url, { ...init, signal: combined });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (timeout.aborted) {
      throw new TransientError(`${describeUrl(url)}: no response within ${timeoutMs} ms`, { cause: err });
    }
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const code = (cause as { code?: string } | undefined)?.code;
    throw new TransientError(`${describeUrl(url)}: network fault${code ? ` (${code})` : ''}`, { cause: err });
  }
}

/** Scheme, host and path of a URL, for messages (never the query, which may hold identifiers). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'invalid URL';
  }
}

/**
 * Milliseconds a Retry-After header asks for: delta-seconds or an HTTP date. Undefined when absent or unreadable;
 * never negative. Not capped here: the retry policy caps what it honours (`maxRetryAfterMs`).
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,12}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - now);
}

/** True for statuses a retry may fix: 408, 429 and every 5xx. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Reads a body as JSON, or undefined when it is not JSON (never throws). Bodies are capped at `maxBytes`. */
export async function readJsonBody(response: Response, maxBytes = 10 * 1024 * 1024): Promise<unknown> {
  try {
    const text = await response.text();
    if (text.length > maxBytes) return undefined;
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
