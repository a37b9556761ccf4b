/**
 * Embedded mode: the three stage cores in one process, no Redis. Bytes -> decodeEcg -> Predictor -> FhirWriter,
 * with the queued mode's retry classification (transient faults retried with backoff, permanent ones reported at
 * once) and a concurrency limit, so the dynamic batcher sees several ECGs at a time.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  DuplicateIdError,
  type Ecg,
  type EcgcadError,
  isTransient,
  type Prediction,
  type RetryPolicy,
  retryPolicy,
} from '@ecgcad/ecg';
import { type DeliveryResult, deliverWithRetry, type FhirWriter } from '@ecgcad/fhir-writer';
import type { Predictor, ShadowedPrediction, ShadowScorer } from '@ecgcad/infer';
import { decodeEcg, type IntakeMeta } from '@ecgcad/ingest';
import pLimit, { type LimitFunction } from 'p-limit';

/** How one input ended. */
export type EcgOutcome =
  | { kind: 'refused'; source: string; code: string; reason: string }
  | { kind: 'done'; source: string; ecgId: string; prediction: Prediction; delivery: DeliveryResult }
  | { kind: 'failed'; source: string; ecgId: string; stage: 'infer' | 'write'; reason: string };

/** Options of EmbeddedPipeline. */
export interface EmbeddedPipelineOptions {
  predictor: Predictor;
  writer: FhirWriter;
  /** Retries of transient faults (inference and delivery): the engine's retry policy. Default DEFAULT_RETRY_POLICY. */
  retry?: Partial<RetryPolicy>;
  /** ECGs in flight at once. Default 2 x the model's batch (32). */
  concurrency?: number;
  /** Called with each decoded ECG and its prediction (model monitoring); must not throw. */
  onPredicted?: (ecg: Ecg, prediction: Prediction) => void;
  /** Shadow mode: scores with `predictor` (its live model) and a shadow model; only the live result is written. */
  shadow?: ShadowScorer;
}

function messageOf(err: unknown): { code: string; reason: string } {
  if (err instanceof Error && 'code' in err && typeof (err as EcgcadError).code === 'string') {
    return { code: (err as EcgcadError).code, reason: err.message };
  }
  return { code: 'INTERNAL', reason: `internal error (${err instanceof Error ? err.name : typeof err})` };
}

/** The whole pipeline in-process. */
export class EmbeddedPipeline {
  readonly predictor: Predictor;
  readonly writer: FhirWriter;
  private readonly retry: RetryPolicy;
  private readonly limit: LimitFunction;
  private readonly onPredicted: EmbeddedPipelineOptions['onPredicted'];
  private readonly shadow: ShadowScorer | undefined;
  /** ECG id -> sha256 and source of the first input seen with it, to catch two documents that claim one id. */
  private readonly seen = new Map<string, { sha256: string; source: string }>();

  constructor(options: EmbeddedPipelineOptions) {
    this.predictor = options.predictor;
    this.writer = options.writer;
    this.retry = retryPolicy(options.retry);
    this.limit = pLimit(options.concurrency ?? 32);
    this.onPredicted = options.onPredicted;
    this.shadow = options.shadow;
  }

  /** Decodes, scores and writes one ECG. Never throws: every ending is an EcgOutcome. */
  process(bytes: Uint8Array, meta: IntakeMeta & { source: string }): Promise<EcgOutcome> {
    return this.limit(async (): Promise<EcgOutcome> => {
      let ecg: ReturnType<typeof decodeEcg>;
      try {
        ecg = decodeEcg(bytes, { feed: meta.feed, receivedAt: meta.receivedAt, sha256: meta.sha256 });
      } catch (err) {
        return { kind: 'refused', source: meta.source, ...messageOf(err) };
      }
      // The ECG id is the idempotency key all the way to the EHR (job ids, conditional creates). Two inputs with
      // one id but different bytes would silently merge there, so the later one is refused, as the queue would.
      const first = this.seen.get(ecg.id);
      if (first && first.sha256 !== ecg.source.sha256) {
        return { kind: 'refused', source: meta.source, ...messageOf(new DuplicateIdError(basename(first.source))) };
      }
      if (!first) this.seen.set(ecg.id, { sha256: ecg.source.sha256, source: meta.source });
      let prediction: Prediction;
      let shadowed: ShadowedPrediction | undefined;
      try {
        if (this.shadow) {
          const shadow = this.shadow;
          shadowed = await deliverWithRetry(() => shadow.predict(ecg), this.retry);
          prediction = shadowed.prediction;
        } else prediction = await deliverWithRetry(() => this.predictor.predict(ecg), this.retry);
      } catch (err) {
        const { code, reason } = messageOf(err);
        return { kind: 'failed', source: meta.source, ecgId: ecg.id, stage: 'infer', reason: `${code}: ${reason}` };
      }
      this.onPredicted?.(ecg, prediction);
      try {
        const delivery = await deliverWithRetry(() => this.writer.write(prediction, ecg), this.retry);
        await shadowed?.settle(true);
        return { kind: 'done', source: meta.source, ecgId: ecg.id, prediction, delivery };
      } catch (err) {
        await shadowed?.settle(false);
        const { code, reason } = messageOf(err);
        const note = isTransient(err) ? ' (gave up after retries)' : '';
        return {
          kind: 'failed',
          source: meta.source,
          ecgId: ecg.id,
          stage: 'write',
          reason: `${code}: ${reason}${note}`,
        };
      }
    });
  }

  /** Waits for work in flight and releases the model session. */
  async close(): Promise<void> {
    await this.shadow?.close();
    await this.predictor.close();
  }
}

/**
 * The files named by `paths`: files as given, folders walked recursively (sorted, hidden entries skipped).
 * A path that does not exist is returned as is, so the caller reports it.
 */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  // Entries of a folder are typed by readdir itself: one stat per named path and per link, not one per file.
  const walkFolder = async (folder: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true }))
      .filter((entry) => !entry.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walkFolder(path);
      else if (entry.isFile()) out.push(path);
      else await walk(path);
    }
  };
  const walk = async (path: string): Promise<void> => {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      out.push(path);
      return;
    }
    if (info.isDirectory()) await walkFolder(path);
    else out.push(path);
  };
  for (const path of paths) await walk(resolve(path));
  return out;
}

/**
 * Runs files through the pipeline; outcomes come back in input order. `onDone` fires as each one finishes.
 * Files are read ahead concurrently but handed to the pipeline in input order, so "first" (for two documents
 * that claim one ECG id) means first on the command line, not first off the disk.
 */
export async function runFiles(
  pipeline: EmbeddedPipeline,
  files: string[],
  onDone?: (outcome: EcgOutcome, index: number) => void,
): Promise<EcgOutcome[]> {
  // Bounds the files read ahead of the pipeline, so a large folder is not read into memory at once.
  const readAhead = pLimit(64);
  const turns = files.map(() => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  });
  turns[0]?.resolve();
  return Promise.all(
    files.map((file, index) =>
      readAhead(async () => {
        const bytes = await readFile(file).then(
          (buffer) => new Uint8Array(buffer),
          () => undefined,
        );
        await turns[index]?.promise;
        const processing: Promise<EcgOutcome> =
          bytes === undefined
            ? Promise.resolve({ kind: 'refused', source: file, code: 'UNREADABLE', reason: 'cannot read the file' })
            : pipeline.process(bytes, { feed: 'file', receivedAt: new Date().toISOString(), source: file });
        turns[index + 1]?.resolve();
        const outcome = await processing;
        onDone?.(outcome, index);
        return outcome;
      }),
    ),
  );
}
