/**
 * The core of `ecgcad score`: manifest rows -> work items, one ECG file -> a scoring outcome through the live
 * engine's code (decodeEcg, then the Predictor with its quality gate and dynamic batcher), outcome -> scores-file
 * row, and the bookkeeping that makes a run resumable (which manifest rows the output already holds, and where a
 * line cut by a kill begins). No file I/O here: commands/score.ts reads and appends.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  type ClinicalColumns,
  parseClinicalColumns,
  parseCsv,
  readScores,
  SCORE_COLUMNS,
  type ScoreRow,
  type ScoreStatus,
  ScoresFileError,
} from '@ecgcad/clinical';
import { type EcgcadError, type Prediction, VESSELS } from '@ecgcad/ecg';
import { deliverWithRetry, type RetryOptions } from '@ecgcad/fhir-writer';
import type { Predictor } from '@ecgcad/infer';
import { decodeEcg } from '@ecgcad/ingest';

/** One manifest row. */
export interface ScoreItem {
  /** 1-based line of the manifest the row starts on (for messages: never the path, which may name a patient). */
  line: number;
  /** The path as the manifest names it: the resume key and the scores file's `path` cell. */
  path: string;
  /** Where the file is: `path` resolved against the manifest's folder. */
  file: string;
  clinical: ClinicalColumns;
  /** Set when the row cannot be scored: why, naming columns only (cells may be patient data). */
  problem?: string;
  /**
   * Set when an earlier manifest line names the same file: the line of the first. Such a row is neither scored nor
   * written (the path is the output's key, so a second row for it could not be told apart); the run reports it.
   */
  duplicateOf?: number;
}

/**
 * Reads a manifest (CSV with a header; `path` required, the clinical columns optional). Rows with a bad cell, an
 * empty path or a path listed before become items with a `problem`. ScoresFileError (a usage error) for CSV that
 * cannot be read or a missing `path` column.
 */
export function readManifest(text: string, manifestDir: string): ScoreItem[] {
  const { columns, records, lines } = parseCsv(text);
  if (!columns.includes('path')) {
    throw new ScoresFileError(
      'the manifest has no "path" column (one ECG file per row, relative to the manifest)',
      'path',
    );
  }
  const firstLine = new Map<string, number>();
  return records.map((record, index) => {
    const line = lines[index] as number;
    const path = (record.path ?? '').trim();
    const { values, problems } = parseClinicalColumns(record);
    const item: ScoreItem = {
      line,
      path,
      file: path === '' ? '' : isAbsolute(path) ? path : resolve(manifestDir, path),
      clinical: values,
    };
    const earlier = firstLine.get(path);
    if (path === '') item.problem = 'column "path": empty';
    // Scores-file rows are single lines, which is what lets a resumed run find where a killed one stopped.
    else if (/[\r\n]/.test(path)) item.problem = 'column "path": contains a line break';
    else if (earlier !== undefined) {
      item.problem = `column "path": same file as manifest line ${earlier}`;
      item.duplicateOf = earlier;
    } else if (problems.length > 0) {
      item.problem = problems.map((p) => `column "${p.column}": ${p.problem}`).join('; ');
      item.clinical = { labels: {} };
    }
    if (path !== '' && earlier === undefined) firstLine.set(path, line);
    return item;
  });
}

/** What an existing output file already holds. */
export interface ExistingOutput {
  /** Bytes of complete lines: anything after this (a line cut by a kill) is to be cut off before appending. */
  keepBytes: number;
  /** Whether the header line is there (false for a new or empty file). */
  hasHeader: boolean;
  /** The status of each row already written, by path (statuses only: an archive's output may hold millions). */
  rows: Map<string, ScoreStatus>;
}

/**
 * Reads the output of an earlier run. A last line without its newline was cut by a kill: it is not a row and is
 * left out (keepBytes stops before it). ScoresFileError when the file is not a scores file (another header, or a
 * row that does not read), so a wrong --out is never appended to.
 */
export function readExistingOutput(bytes: Uint8Array): ExistingOutput {
  const keepBytes = bytes.lastIndexOf(0x0a) + 1;
  const rows = new Map<string, ScoreStatus>();
  if (keepBytes === 0) return { keepBytes, hasHeader: false, rows };
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, keepBytes));
  const { columns } = parseCsv(text);
  if (columns.join(',') !== SCORE_COLUMNS.join(',')) {
    throw new ScoresFileError(
      'the output file exists and is not a scores file (its header differs): use another --out',
    );
  }
  for (const row of readScores(text)) rows.set(row.path, row.status);
  return { keepBytes, hasHeader: true, rows };
}

/** The manifest rows still to score: those whose path the output does not hold yet (repeated paths never). */
export function remainingItems(items: readonly ScoreItem[], done: ReadonlyMap<string, unknown>): ScoreItem[] {
  return items.filter((item) => item.duplicateOf === undefined && !done.has(item.path));
}

/** How scoring one file ended. */
export type ScoreOutcome =
  | { kind: 'predicted'; prediction: Prediction }
  /** The file could not be read, or is not an ECG the engine decodes. */
  | { kind: 'refused'; code: string; reason: string }
  /** Decoded, but the model run failed (after retries of transient faults). */
  | { kind: 'failed'; ecgId: string; reason: string };

function codeAndMessage(err: unknown): { code: string; reason: string } {
  if (err instanceof Error && 'code' in err && typeof (err as EcgcadError).code === 'string') {
    return { code: (err as EcgcadError).code, reason: err.message };
  }
  return { code: 'INTERNAL', reason: `internal error (${err instanceof Error ? err.name : typeof err})` };
}

/**
 * Decodes and scores one file's bytes with the live engine's code: decodeEcg, then Predictor.predict (quality
 * gate, prepare, dynamic batcher), transient faults retried under the engine's one retry policy, as in embedded
 * mode. Never throws.
 */
export async function scoreBytes(
  predictor: Predictor,
  bytes: Uint8Array,
  retry: RetryOptions = {},
): Promise<ScoreOutcome> {
  let ecg: ReturnType<typeof decodeEcg>;
  try {
    ecg = decodeEcg(bytes, { feed: 'file', receivedAt: new Date().toISOString() });
  } catch (err) {
    return { kind: 'refused', ...codeAndMessage(err) };
  }
  try {
    return { kind: 'predicted', prediction: await deliverWithRetry(() => predictor.predict(ecg), retry) };
  } catch (err) {
    const { code, reason } = codeAndMessage(err);
    return { kind: 'failed', ecgId: ecg.id, reason: `${code}: ${reason}` };
  }
}

/** Reasons come from error messages: kept to one line, so every scores-file row is one line. */
const oneLine = (text: string | undefined): string | undefined => text?.replace(/\s*[\r\n]+\s*/g, ' ');

/** The scores-file row of a manifest row that was not scored because of the row itself. */
export function problemRow(item: ScoreItem): Omit<ScoreRow, 'line'> {
  return {
    ecgId: '',
    path: item.path,
    probabilities: {},
    status: 'failed',
    reason: oneLine(item.problem),
    ...item.clinical,
  };
}

/** The scores-file row of a manifest row and how scoring its file ended. */
export function scoreRowOf(item: ScoreItem, outcome: ScoreOutcome): Omit<ScoreRow, 'line'> {
  const base = { path: item.path, ...item.clinical };
  switch (outcome.kind) {
    case 'refused':
      return {
        ...base,
        ecgId: '',
        probabilities: {},
        status: 'refused',
        reason: oneLine(`${outcome.code}: ${outcome.reason}`),
      };
    case 'failed':
      return { ...base, ecgId: outcome.ecgId, probabilities: {}, status: 'failed', reason: oneLine(outcome.reason) };
    case 'predicted': {
      const p = outcome.prediction;
      const model = `${p.model.id}@${p.model.version}`;
      if (p.status === 'not-analysable') {
        return {
          ...base,
          ecgId: p.ecg.id,
          probabilities: {},
          model,
          status: 'not-analysable',
          reason: oneLine(p.reasons.join('; ')),
        };
      }
      const probabilities: ScoreRow['probabilities'] = {};
      for (const v of p.vessels)
        if ((VESSELS as readonly string[]).includes(v.vessel)) probabilities[v.vessel] = v.probability;
      return { ...base, ecgId: p.ecg.id, probabilities, model, status: 'scored' };
    }
  }
}

/** Whether a row counts against the run's exit code: refused and failed rows do; not-analysable is a result. */
export const isFailure = (status: ScoreStatus): boolean => status === 'failed' || status === 'refused';

/**
 * Collects results that finish out of order and releases them in order, so the output lists rows in manifest
 * order and reruns write identical files.
 */
export class InOrder<T> {
  private next = 0;
  private readonly pending = new Map<number, T>();

  /** Adds result `index` (0-based, each once); returns the results now ready, in order. */
  add(index: number, value: T): T[] {
    this.pending.set(index, value);
    const ready: T[] = [];
    while (this.pending.has(this.next)) {
      ready.push(this.pending.get(this.next) as T);
      this.pending.delete(this.next);
      this.next++;
    }
    return ready;
  }
}
