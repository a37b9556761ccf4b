/**
 * Typed errors. Every failure that reaches a sender, a log or the dead-letter set is one of these,
 * so callers can tell permanent from transient faults without parsing messages.
 * Messages never carry patient data: they name fields, offsets and formats, not values from the file.
 */

/** Machine-readable error codes. */
export type EcgErrorCode =
  | 'UNSUPPORTED_FORMAT'
  | 'MALFORMED'
  | 'NOT_ANALYSABLE'
  | 'LIMIT_EXCEEDED'
  | 'DUPLICATE_ID'
  | 'INVALID_CONFIG'
  | 'INVALID_MODEL'
  | 'TRANSIENT'
  | 'PERMANENT';

/** Base class of all ecgcad errors. `permanent` says whether a retry could ever succeed. */
export class EcgcadError extends Error {
  readonly code: EcgErrorCode;
  readonly permanent: boolean;
  constructor(code: EcgErrorCode, message: string, options?: { cause?: unknown; permanent?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.permanent = options?.permanent ?? code !== 'TRANSIENT';
  }
}

/** The bytes are in a format the engine does not decode (the message names the format when it is recognised). */
export class UnsupportedFormatError extends EcgcadError {
  /** The recognised format, e.g. `philips-sierra`, or `unknown`. */
  readonly format: string;
  constructor(format: string, message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED_FORMAT', message, options);
    this.format = format;
  }
}

/** The bytes claim a supported format but break its rules. `where` locates the fault (tag, XPath, offset). */
export class MalformedInputError extends EcgcadError {
  readonly format: string;
  readonly where: string | undefined;
  constructor(format: string, message: string, where?: string, options?: { cause?: unknown }) {
    super('MALFORMED', where ? `${message} (at ${where})` : message, options);
    this.format = format;
    this.where = where;
  }
}

/** A size or count limit protects the worker from hostile or absurd input. */
export class LimitExceededError extends EcgcadError {
  constructor(message: string) {
    super('LIMIT_EXCEEDED', message);
  }
}

/**
 * A second document claims an ECG id already taken by other content (the sha256 differs). The id is the
 * idempotency key down to the EHR, so accepting it would silently merge two ECGs: the first one stands.
 */
export class DuplicateIdError extends EcgcadError {
  constructor(firstSource?: string) {
    super(
      'DUPLICATE_ID',
      `same ECG id as ${firstSource ?? 'an earlier document'} but different content; the first one stands`,
    );
  }
}

/** The ECG decoded but cannot be analysed; `reasons` say why (short, patient-free sentences). */
export class NotAnalysableError extends EcgcadError {
  readonly reasons: string[];
  constructor(reasons: string[]) {
    super('NOT_ANALYSABLE', `not analysable: ${reasons.join('; ')}`);
    this.reasons = reasons;
  }
}

/** A fault that may clear on retry (network, 5xx, Redis reconnect). */
export class TransientError extends EcgcadError {
  /** Milliseconds the peer asked us to wait (Retry-After), if any. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('TRANSIENT', message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A fault no retry can fix (4xx from the EHR, invalid resource). */
export class PermanentError extends EcgcadError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PERMANENT', message, options);
  }
}

/** Configuration that fails validation; `issues` holds one message per bad key. */
export class ConfigError extends EcgcadError {
  readonly issues: string[];
  constructor(issues: string[]) {
    super('INVALID_CONFIG', `invalid configuration:\n  ${issues.join('\n  ')}`);
    this.issues = issues;
  }
}

/** True for errors a retry could fix. Unknown errors count as transient so nothing is dropped by mistake. */
export function isTransient(err: unknown): boolean {
  if (err instanceof EcgcadError) return !err.permanent;
  return true;
}
