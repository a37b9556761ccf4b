/**
 * `ecgcad evaluate --scores FILE --model DIR --out DIR [--matrix FILE] [--bootstrap N] [--seed S]`: evaluates a
 * model on a labelled scores file the way the study did (ROC and AUC with DeLong and bootstrap CIs, calibration,
 * decision curves, the strata of the card's thresholds, PTP alone vs PTP with the AI strata where the scores carry
 * PTP inputs, Kaplan-Meier of MACE by AI risk group where they carry follow-up). Writes `report.html` (one
 * self-contained page) and `evaluation.json` (every number in it) into --out, each whole or not at all.
 * Exit codes: 0 done; 2 unusable input (scores file, model folder, matrix), the message naming column and line.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import {
  cohortReferenceProfile,
  DEFAULT_RECLASSIFICATION,
  type Evaluation,
  evaluateCohort,
  type PtpComparison,
  parseReclassificationMatrix,
  ptpComparison,
  REFERENCE_PROFILE_FILE,
  type ReclassificationMatrix,
  ReclassificationMatrixError,
  readScores,
  renderEvaluationReport,
  ScoresFileError,
  type StratumThresholds,
} from '@ecgcad/clinical';
import type { Vessel } from '@ecgcad/ecg';
import { InvalidModelError, loadModelFolder } from '@ecgcad/infer';
import type { Command } from 'commander';
import { integerOption } from './options.js';

/** Options of {@link runEvaluate}. */
export interface EvaluateCommandOptions {
  /** The scores file (`ecgcad score` output, or any CSV with its columns). */
  scores: string;
  /** The model folder whose card gives the thresholds and the clinical-use flag. */
  model: string;
  /** Output folder (created if missing). */
  out: string;
  /** A reclassification matrix JSON file (default: the engine's, on ESC 2024 RF-CL). */
  matrix?: string;
  /** Bootstrap resamples (default 1,000) and seed (default 42). */
  bootstrap?: number;
  seed?: number;
  /** Also write the cohort's reference-profile.json into the model folder (drift reference; MONITORING.md). */
  writeReference?: boolean;
  /** The clock, for tests. */
  now?: () => Date;
}

/** What {@link runEvaluate} wrote. */
export interface EvaluateResult {
  evaluation: Evaluation;
  reportPath: string;
  jsonPath: string;
}

/** Input the command cannot use (scores file, model folder, matrix): exit code 2, message printed as is. */
export class EvaluateInputError extends Error {
  override readonly name = 'EvaluateInputError';
}

const engineVersion = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Writes a file whole or not at all: a temporary file beside it, then a rename. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new EvaluateInputError(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Runs the evaluation and writes the report and the JSON. Throws EvaluateInputError for unusable input. */
export async function runEvaluate(options: EvaluateCommandOptions): Promise<EvaluateResult> {
  const text = await readText(options.scores, 'scores file');
  let rows: ReturnType<typeof readScores>;
  try {
    rows = readScores(text);
  } catch (err) {
    if (err instanceof ScoresFileError) throw new EvaluateInputError(`${options.scores}: ${err.message}`);
    throw err;
  }
  let model: Awaited<ReturnType<typeof loadModelFolder>>;
  try {
    model = await loadModelFolder(options.model);
  } catch (err) {
    if (err instanceof InvalidModelError) throw new EvaluateInputError(`${options.model}: ${err.message}`);
    throw err;
  }
  let matrix: ReclassificationMatrix = DEFAULT_RECLASSIFICATION;
  let matrixSource = 'ecgcad default';
  if (options.matrix) {
    try {
      matrix = parseReclassificationMatrix(await readText(options.matrix, 'matrix file'));
      matrixSource = basename(options.matrix);
    } catch (err) {
      if (err instanceof ReclassificationMatrixError) throw new EvaluateInputError(`${options.matrix}: ${err.message}`);
      throw err;
    }
  }
  // PTP only where the scores carry its inputs: some row with age, sex, symptoms and risk factors.
  const hasPtp = rows.some(
    (r) => r.age !== undefined && r.sex !== undefined && r.symptoms !== undefined && r.riskFactors !== undefined,
  );
  const ptp: PtpComparison | undefined = hasPtp ? ptpComparison(matrix, matrixSource) : undefined;
  const { card } = model;
  const thresholds: Partial<Record<Vessel, StratumThresholds>> = {};
  for (const vessel of card.outputs.vessels) {
    const t = card.thresholds[vessel];
    if (t) thresholds[vessel] = { ruleOut: t.ruleOut, ruleIn: t.ruleIn };
  }
  const evaluation = evaluateCohort(rows, {
    model: {
      id: card.id,
      version: card.version,
      clinicalUse: card.clinicalUse,
      intendedUse: card.intendedUse,
      outcome: card.outcome,
    },
    thresholds,
    vessels: card.outputs.vessels,
    bootstrap: { resamples: options.bootstrap ?? 1000, seed: options.seed ?? 42 },
    ...(ptp ? { ptp } : {}),
    source: { file: basename(options.scores), sha256: createHash('sha256').update(text).digest('hex') },
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    engineVersion,
  });
  await mkdir(options.out, { recursive: true });
  const jsonPath = join(options.out, 'evaluation.json');
  const reportPath = join(options.out, 'report.html');
  await writeAtomically(jsonPath, `${JSON.stringify(evaluation, null, 2)}\n`);
  await writeAtomically(reportPath, renderEvaluationReport(evaluation));
  // The cohort's outputs and strata: the drift reference, beside the report and (asked for) in the model folder.
  const profile = `${JSON.stringify(
    cohortReferenceProfile(rows, thresholds, {
      source: 'evaluate',
      createdAt: evaluation.generatedAt,
      model: { id: card.id, version: card.version },
    }),
    null,
    2,
  )}\n`;
  await writeAtomically(join(options.out, REFERENCE_PROFILE_FILE), profile);
  if (options.writeReference) await writeAtomically(join(options.model, REFERENCE_PROFILE_FILE), profile);
  return { evaluation, reportPath, jsonPath };
}

/** One line per vessel for the terminal. */
export function summaryLines(evaluation: Evaluation): string[] {
  return evaluation.vessels.map((v) => {
    if (!v.evaluable || !v.auc) return `${v.vessel}: not evaluable (${v.reason})`;
    const [lo, hi] = v.auc.delong.ci95;
    return (
      `${v.vessel}: n ${v.n}, ${v.positives} positive, AUC ${v.auc.value.toFixed(3)} ` +
      `(DeLong 95 % CI ${lo.toFixed(3)}-${hi.toFixed(3)}), Brier ${v.calibration?.brier.toFixed(4)}`
    );
  });
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description(
      'evaluate a model on a labelled scores file: report.html (ROC, calibration, decision curves, strata, PTP vs PTP + AI, Kaplan-Meier) and evaluation.json',
    )
    .requiredOption('--scores <file>', 'scores CSV (from `ecgcad score`) with label_<vessel> columns')
    .requiredOption('--model <dir>', 'model folder: its card gives the thresholds and the clinical-use flag')
    .requiredOption('--out <dir>', 'output folder for report.html and evaluation.json (created if missing)')
    .option('--matrix <file>', "a site's reclassification matrix (JSON) instead of the engine's default")
    .option(
      '--bootstrap <n>',
      'bootstrap resamples for the AUC and operating-point CIs',
      integerOption('bootstrap', 1, 100_000),
      1000,
    )
    .option('--seed <s>', 'bootstrap seed', integerOption('seed', 0, 0xffffffff), 42)
    .option(
      '--write-reference',
      "also write the cohort's reference-profile.json (drift reference) into the model folder",
    )
    .action(
      async (opts: {
        scores: string;
        model: string;
        out: string;
        matrix?: string;
        bootstrap: number;
        seed: number;
        writeReference?: boolean;
      }) => {
        try {
          const result = await runEvaluate({
            scores: opts.scores,
            model: opts.model,
            out: opts.out,
            bootstrap: opts.bootstrap,
            seed: opts.seed,
            ...(opts.matrix ? { matrix: opts.matrix } : {}),
            ...(opts.writeReference ? { writeReference: true } : {}),
          });
          const lines = summaryLines(result.evaluation);
          if (!result.evaluation.model.clinicalUse)
            lines.unshift('NOT FOR CLINICAL USE: the model card says clinicalUse: false');
          for (const warning of result.evaluation.settings.ptp?.matrixWarnings ?? []) lines.push(`matrix: ${warning}`);
          lines.push(`wrote ${result.reportPath} and ${result.jsonPath}`);
          process.stdout.write(`${lines.join('\n')}\n`);
        } catch (err) {
          if (err instanceof EvaluateInputError) {
            process.stderr.write(`ecgcad evaluate: ${err.message}\n`);
            process.exitCode = 2;
            return;
          }
          throw err;
        }
      },
    );
}
