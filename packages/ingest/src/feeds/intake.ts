/**
 * The one function every feed hands its bytes to. The embedded runner and the queued engine each supply their own
 * Intake (decode + run the pipeline, or decode + enqueue), so the feeds are protocol glue and nothing more.
 */
import { EcgcadError, isTransient } from '@ecgcad/ecg';
import type { RejectedStore } from '../rejected-store.js';

/** Facts about one received payload, as the feed saw them. None of them is patient data. */
export interface IntakeMeta {
  /** Feed name: `cstore`, `stow`, `http`, `folder`, or a site's own. */
  feed: 'cstore' | 'stow' | 'http' | 'folder' | (string & {});
  /** ISO 8601 instant the feed received the bytes. */
  receivedAt: string;
  /** File or part name as the sender gave it (folder feed: the file name). Kept with rejects, never logged. */
  name?: string;
  /** Media type as the sender declared it. */
  contentType?: string;
  /** Peer address or AE title, for operators. */
  remote?: string;
  /** Network address of a DICOM peer (whose AE title is `remote`). For the audit trail. */
  peer?: string;
  /** Who authenticated: `api-key:<key id>` or `cert:<subject CN>` (never a key). For the audit trail. */
  principal?: string;
  /** Who sent it, for per-sender metrics: `ae:<calling AE title>`, `key:<API key id>`, `cert`. Never patient data. */
  sender?: string;
  /**
   * sha256 (hex) of the bytes the sender sent, where the feed wrapped them before the intake: a C-STORE's data set,
   * without the File Meta Information the feed adds (which names the calling AE title). Intakes take it as the
   * ECG's sha256 instead of hashing `bytes`, so one object sent by two AE titles (a cart, then a PACS forwarding
   * it) is one document, and its resend a duplicate.
   */
  sha256?: string;
}

/** What the intake hands back once the ECG is safely stored. */
export interface IntakeReceipt {
  /** The Ecg id (SOP Instance UID, aECG id, or `sha256:<hex>`). */
  ecgId: string;
  /** True when the same ECG had already been taken (idempotent re-send). */
  duplicate?: boolean;
}

/**
 * Takes raw bytes from a feed; resolves once the ECG is safely handed over (in Redis / in the embedded pipeline).
 * Throws a permanent EcgcadError for input it refuses, or a TransientError when the sender should retry later.
 */
export type Intake = (bytes: Uint8Array, meta: IntakeMeta) => Promise<IntakeReceipt>;

/** Pino-like logger: `(fields, message)`. Feeds never put patient data in either. */
export interface FeedLogger {
  info(fields: Record<string, unknown>, msg?: string): void;
  warn(fields: Record<string, unknown>, msg?: string): void;
  error(fields: Record<string, unknown>, msg?: string): void;
}

/** How a feed's hand-over ended: taken, refused for good, or to be retried by the sender. */
export type FeedOutcome = 'accepted' | 'refused' | 'retry';

/** Optional metrics hook, called once per payload with the time the hand-over took. */
export type OutcomeCallback = (feed: string, outcome: FeedOutcome, ms: number, sender?: string) => void;

/** A sender refused before any payload was taken (AE title not allowed, no credentials, file too big). */
export interface PeerRefusal {
  feed: string;
  /** ISO instant. */
  at: string;
  /** Calling AE title (C-STORE). */
  remote?: string;
  /** Network address of the peer. */
  peer?: string;
  /** Refusal code, e.g. `AE_NOT_ALLOWED`, `UNAUTHENTICATED`, `LIMIT_EXCEEDED`. */
  code: string;
  /** Patient-free reason. */
  reason: string;
}

/** Tells `onPeerRefused` (the audit trail) about a refusal; a throwing listener changes nothing. */
export function notifyPeerRefused(options: Pick<FeedCommonOptions, 'onPeerRefused'>, refusal: PeerRefusal): void {
  try {
    options.onPeerRefused?.(refusal);
  } catch {
    // An audit hook must not change what the sender is told.
  }
}

/** Options every feed takes. */
export interface FeedCommonOptions {
  /** Where accepted bytes go. */
  intake: Intake;
  /** Where refused bytes are kept for inspection and replay. */
  rejected: RejectedStore;
  /** Defaults to a logger that drops everything. */
  logger?: FeedLogger;
  onOutcome?: OutcomeCallback;
  /** Called for each sender refused before a payload was taken (for the audit trail). */
  onPeerRefused?: (refusal: PeerRefusal) => void;
}

/** A logger that drops everything (the default). */
export const silentLogger: FeedLogger = { info() {}, warn() {}, error() {} };

/** The result of one hand-over, already classified for the feed's protocol. */
export type HandOverResult =
  | { outcome: 'accepted'; receipt: IntakeReceipt; ms: number }
  | {
      outcome: 'refused';
      /** EcgcadError code, e.g. `MALFORMED`. */
      code: string;
      /** Patient-free reason for the sender. */
      reason: string;
      /** The error, so feeds can map its class to a protocol status. */
      error: EcgcadError;
      /** Id in the rejected store, when the bytes were kept. */
      rejectedId?: string;
      ms: number;
    }
  | { outcome: 'retry'; reason: string; retryAfterMs?: number; ms: number };

/**
 * Message for an error from intake. EcgcadError messages are patient-free by contract; anything else may quote
 * input, so it is replaced by a fixed text (its class name goes to the log only).
 */
export function reasonOf(err: unknown): string {
  if (err instanceof EcgcadError) return err.message;
  return 'internal error while taking the ECG';
}

/**
 * Calls the intake and classifies the result. Refusals are stored in the rejected store (a failure to store them is
 * logged, never thrown: the sender still learns the reason). Transient failures are not stored: the sender retries.
 * Never throws.
 */
export async function handOver(
  bytes: Uint8Array,
  meta: IntakeMeta,
  options: FeedCommonOptions,
): Promise<HandOverResult> {
  const logger = options.logger ?? silentLogger;
  const started = performance.now();
  let result: HandOverResult;
  try {
    const receipt = await options.intake(bytes, meta);
    result = { outcome: 'accepted', receipt, ms: performance.now() - started };
    logger.info(
      { feed: meta.feed, ecgId: receipt.ecgId, duplicate: receipt.duplicate === true, bytes: bytes.byteLength },
      'ecg taken',
    );
  } catch (err) {
    const ms = performance.now() - started;
    const reason = reasonOf(err);
    if (isTransient(err)) {
      const retryAfterMs =
        err instanceof EcgcadError && 'retryAfterMs' in err ? (err.retryAfterMs as number) : undefined;
      result = { outcome: 'retry', reason, ms, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      logger.warn(
        { feed: meta.feed, errorClass: err instanceof Error ? err.name : typeof err, reason },
        'intake failed transiently; sender told to retry',
      );
    } else {
      const error = err as EcgcadError;
      let rejectedId: string | undefined;
      try {
        rejectedId = (await options.rejected.put(bytes, meta, { code: error.code, message: reason })).id;
      } catch (storeErr) {
        logger.error(
          { feed: meta.feed, errorClass: storeErr instanceof Error ? storeErr.name : typeof storeErr },
          'could not keep refused bytes in the rejected store',
        );
      }
      result = {
        outcome: 'refused',
        code: error.code,
        reason,
        error,
        ms,
        ...(rejectedId === undefined ? {} : { rejectedId }),
      };
      logger.warn({ feed: meta.feed, code: error.code, reason, rejectedId }, 'ecg refused');
    }
  }
  try {
    options.onOutcome?.(meta.feed, result.outcome, result.ms, meta.sender);
  } catch {
    // A broken metrics hook must not change what the sender is told.
  }
  return result;
}
