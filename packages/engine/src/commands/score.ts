/**
 * `ecgcad score --manifest FILE --out scores.csv [--model DIR] [--config FILE] [--concurrency N] [--no-progress]`:
 * scores every ECG file a manifest lists through the live engine's code (decode, quality gate, Predictor behind
 * the dynamic batcher) and appends one scores-file row per manifest row, in manifest order. Resumable: a rerun
 * skips the paths the output already holds and cuts off a last line left half-written by a kill. Rows that could
 * not be scored carry their status and reason; the exit code is 1 when any row of the manifest is refused or
 * failed, 2 when the arguments or the manifest cannot be used. Terminal output names manifest lines, never paths
 * or cells (they may be patient data).
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { formatScoreRows, type ScoreRow, ScoresFileError, scoresHeader } from '@ecgcad/clinical';
import { EcgcadError } from '@ecgcad/ecg';
import type { Predictor } from '@ecgcad/infer';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config.js';
import { ProgressLine } from '../report.js';
import {
  type ExistingOutput,
  InOrder,
  isFailure,
  problemRow,
  readExistingOutput,
  readManifest,
  remainingItems,
  type ScoreItem,
  scoreBytes,
  scoreRowOf,
} from '../scoring.js';
import { predictorFromConfig } from '../stages.js';

/** Flags of `ecgcad score`. */
export interface ScoreFlags {
  manifest: string;
  out: string;
  model?: string;
  config?: string;
  /** ECGs in flight at once. Default 2 x the model's maxBatch. */
  concurrency?: number;
  progress?: boolean;
}

/** What a score run did. */
export interface ScoreSummary {
  /** Manifest rows. */
  total: number;
  /** Rows the output already held (earlier runs). */
  skipped: number;
  /** Rows written by this run, by status. */
  scored: number;
  notAnalysable: number;
  refused: number;
  failed: number;
  /** Manifest rows naming a file an earlier row names (not scored, not written; reported). */
  duplicates: number;
  /**
   * Refused or failed rows of this manifest in the output, earlier runs included, plus repeated paths: the exit
   * code's measure.
   */
  failures: number;
}

/** Problem lines printed at the end of a run; the rest are in the output file. */
const MAX_PROBLEM_LINES = 50;

/** A usage error of `score` (exit code 2): bad arguments, an unreadable manifest or output. */
export class ScoreUsageError extends Error {
  override readonly name = 'ScoreUsageError';
}

async function readManifestItems(manifest: string): Promise<ScoreItem[]> {
  let text: string;
  try {
    text = await readFile(manifest, 'utf8');
  } catch {
    throw new ScoreUsageError(`cannot read the manifest (--manifest ${manifest})`);
  }
  try {
    return readManifest(text, dirname(resolve(manifest)));
  } catch (err) {
    if (err instanceof ScoresFileError) throw new ScoreUsageError(`manifest: ${err.message}`);
    throw err;
  }
}

async function readOutput(out: string): Promise<ExistingOutput> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(out));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { keepBytes: 0, hasHeader: false, rows: new Map() };
    throw new ScoreUsageError(`cannot read the output file (--out ${out})`);
  }
  try {
    return readExistingOutput(bytes);
  } catch (err) {
    if (err instanceof ScoresFileError) throw new ScoreUsageError(`output file: ${err.message}`);
    throw err;
  }
}

/** Reads a file for scoring; a reason instead of bytes when it cannot be. */
async function readEcgFile(file: string): Promise<Uint8Array | { code: string; reason: string }> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { code: 'NOT_FOUND', reason: 'no file at this path' };
    if (code === 'EISDIR') return { code: 'NOT_A_FILE', reason: 'the path is a folder' };
    return { code: 'UNREADABLE', reason: 'cannot read the file' };
  }
}

/** Scores the manifest's remaining rows and appends them to the output. */
export async function scoreCommand(
  flags: ScoreFlags,
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
  /** A Predictor to use instead of loading the configured model (the caller keeps and closes it: benchmarks). */
  shared?: Predictor,
): Promise<ScoreSummary> {
  if (!flags.manifest) throw new ScoreUsageError('--manifest FILE is required');
  if (!flags.out) throw new ScoreUsageError('--out FILE is required');
  const config = loadConfig({
    ...(flags.config ? { file: flags.config } : {}),
    overrides: [{ path: ['model', 'dir'], value: flags.model }],
  });
  const items = await readManifestItems(flags.manifest);
  const existing = await readOutput(flags.out);
  const todo = remainingItems(items, existing.rows);
  const duplicates = items.filter((item) => item.duplicateOf !== undefined);
  const summary: ScoreSummary = {
    total: items.length,
    skipped: items.length - todo.length - duplicates.length,
    scored: 0,
    notAnalysable: 0,
    refused: 0,
    failed: 0,
    duplicates: duplicates.length,
    failures: 0,
  };
  const problems: string[] = duplicates.map((item) => `manifest line ${item.line}: not scored: ${item.problem ?? ''}`);
  const count = (item: ScoreItem, row: Omit<ScoreRow, 'line'>): void => {
    if (row.status === 'scored') summary.scored++;
    else if (row.status === 'not-analysable') summary.notAnalysable++;
    else if (row.status === 'refused') summary.refused++;
    else summary.failed++;
    if (isFailure(row.status)) problems.push(`manifest line ${item.line}: ${row.status}: ${row.reason ?? ''}`);
  };

  if (todo.length > 0) {
    // Only rows that need the model load it: a rerun with nothing left, or only bad rows, needs none.
    const needed = todo.some((item) => !item.problem);
    // Scores files hold probabilities only: no occlusion maps (they would multiply the model work for high ECGs).
    const scoring = { ...config, attribution: { ...config.attribution, when: 'never' as const } };
    const predictor: Predictor | undefined = needed ? (shared ?? (await predictorFromConfig(scoring))) : undefined;
    await mkdir(dirname(resolve(flags.out)), { recursive: true });
    const file = await open(flags.out, 'a+');
    const progress = new ProgressLine(todo.length, stderr, flags.progress === false ? false : undefined);
    try {
      // A line cut by a kill is not a row: cut it off, then append whole lines only.
      const { size } = await file.stat();
      if (size > existing.keepBytes) await file.truncate(existing.keepBytes);
      if (!existing.hasHeader) await file.write(scoresHeader());
      // Rows are appended in manifest order as they complete; a failed write (disk full) stops the run.
      let writing: Promise<void> = Promise.resolve();
      let writeError: unknown;
      const inOrder = new InOrder<Omit<ScoreRow, 'line'>>();
      const write = (index: number, row: Omit<ScoreRow, 'line'>): void => {
        const ready = inOrder.add(index, row);
        if (ready.length === 0) return;
        const text = formatScoreRows(ready);
        writing = writing.then(async () => {
          if (writeError !== undefined) return;
          await file.write(text).catch((err: unknown) => {
            writeError = err;
          });
        });
      };
      // A fixed pool of workers pulling the next row: memory stays flat on an archive of millions of files.
      let next = 0;
      const workers = Math.min(todo.length, flags.concurrency ?? 2 * config.model.maxBatch);
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (next < todo.length && writeError === undefined) {
            const index = next++;
            const item = todo[index] as ScoreItem;
            let row: Omit<ScoreRow, 'line'>;
            if (item.problem || !predictor) {
              row = problemRow(item);
            } else {
              const bytes = await readEcgFile(item.file);
              row =
                bytes instanceof Uint8Array
                  ? scoreRowOf(item, await scoreBytes(predictor, bytes))
                  : scoreRowOf(item, { kind: 'refused', ...bytes });
            }
            count(item, row);
            write(index, row);
            progress.tick();
          }
        }),
      );
      await writing;
      if (writeError !== undefined) throw writeError;
    } finally {
      progress.stop();
      await file.close();
      if (predictor !== shared) await predictor?.close();
    }
  }

  const wanted = new Set(items.map((item) => item.path));
  let earlierFailures = 0;
  for (const [path, status] of existing.rows) if (wanted.has(path) && isFailure(status)) earlierFailures++;
  summary.failures = earlierFailures + summary.refused + summary.failed + summary.duplicates;
  // An archive may hold thousands of bad files: the first lines here, all of them in the output's reason column.
  for (const line of problems.slice(0, MAX_PROBLEM_LINES)) stdout.write(`${line}\n`);
  if (problems.length > MAX_PROBLEM_LINES) {
    stdout.write(`... and ${problems.length - MAX_PROBLEM_LINES} more: see the status and reason columns\n`);
  }
  stdout.write(
    `${summary.total} manifest row(s): ${summary.skipped} already in the output, ${summary.scored} scored, ` +
      `${summary.notAnalysable} not analysable, ${summary.refused} refused, ${summary.failed} failed` +
      `${summary.duplicates > 0 ? `, ${summary.duplicates} repeated path(s) not scored` : ''} -> ${resolve(flags.out)}\n`,
  );
  if (earlierFailures > 0) {
    stdout.write(
      `${earlierFailures} refused or failed row(s) from earlier runs are kept; to retry them, delete their lines from the output and rerun\n`,
    );
  }
  return summary;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

export function register(program: Command): void {
  program
    .command('score')
    .description(
      'score every ECG a manifest lists (batch backfill of an archive or a labelled cohort) into a scores CSV; resumable',
    )
    .requiredOption(
      '--manifest <file>',
      'CSV with a header: path (relative to the manifest) and optional label_<vessel>, age, sex, symptoms, risk_factors, cacs, mace_days, mace_event',
    )
    .requiredOption('-o, --out <file>', 'scores CSV to write, or to resume (rows already there are skipped)')
    .option('-m, --model <dir>', 'model folder (default the generated demo model, or ECGCAD_MODEL_DIR)')
    .option('-c, --config <file>', 'configuration file (JSON; default ECGCAD_CONFIG)')
    .option('--concurrency <n>', 'ECGs in flight at once (default 2 x model.maxBatch)', positiveInt)
    .option('--no-progress', 'no progress bar (it shows only on a terminal anyway)')
    // Unusable arguments (a missing --manifest, a bad --concurrency) exit with 2, as an unusable manifest does.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (flags: ScoreFlags) => {
      try {
        const summary = await scoreCommand(flags);
        if (summary.failures > 0) process.exitCode = 1;
      } catch (err) {
        if (
          err instanceof ScoreUsageError ||
          (err instanceof EcgcadError && (err.code === 'INVALID_CONFIG' || err.code === 'INVALID_MODEL'))
        ) {
          process.stderr.write(`ecgcad score: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
    });
}
