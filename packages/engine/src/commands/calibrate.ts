/**
 * `ecgcad calibrate --scores FILE --model DIR [--rule sens-spec|study] [--sensitivity 0.9] [--specificity 0.9]
 * [--bootstrap 1000] [--seed N] [--out DIR] [--json]`: derives each vessel's rule-out and rule-in thresholds from a
 * site's labelled cohort (a scores file from `ecgcad score`) and writes them into a NEW model folder version.
 *
 * The given model folder is never edited. The new folder holds a copy of the model's files, a card with the
 * thresholds replaced, its version bumped and a `calibration` block, and `calibration.json` with every number the
 * command computed. It is written to a temporary folder beside the target and renamed into place, so it appears
 * whole or not at all. Version: `<version>+cal.<yyyymmdd>.<8 hex>` (semver build metadata; the hex is a
 * fingerprint of the cohort file and the options, so the same calibration gets the same version and a different
 * one a different version); any earlier `+...` metadata is replaced. Default --out: a sibling of the model folder
 * named `<id>-<new version>`; an existing --out is refused.
 *
 * Exit 0 on success; 2 for unusable input (scores file, model folder, options, a vessel that cannot be
 * calibrated), with one line on stderr naming the column, line or vessel.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  CALIBRATION_RULES,
  CalibrationError,
  type CalibrationResult,
  type CalibrationRule,
  calibrateCohort,
  cohortReferenceProfile,
  REFERENCE_PROFILE_FILE,
  readScores,
  ScoresFileError,
  STUDY_RULES,
} from '@ecgcad/clinical';
import { EcgcadError, type Vessel } from '@ecgcad/ecg';
import { CARD_FILE, type CardCalibration, loadModelFolder, parseModelCard } from '@ecgcad/infer';
import type { Command } from 'commander';

/** File in the new model folder with the full calibration result (ROC curves, CIs, 2 x 2 tables). */
export const CALIBRATION_FILE = 'calibration.json';

/** The engine's version, from its package.json (one level above src/ and dist/). */
export const ENGINE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A usage problem of the command itself (options, an existing --out, an unreadable file). */
export class CalibrateUsageError extends Error {
  override readonly name = 'CalibrateUsageError';
}

export interface CalibrateModelOptions {
  scores: string;
  model: string;
  rule?: CalibrationRule;
  sensitivity?: number;
  specificity?: number;
  bootstrap?: number;
  seed?: number;
  out?: string;
  /** Clock (tests). */
  now?: Date;
}

export interface CalibrateModelOutcome {
  /** The new model folder. */
  outDir: string;
  previousVersion: string;
  version: string;
  modelId: string;
  cohortSha256: string;
  result: CalibrationResult;
}

/** `1.0.0` (or `1.0.0+anything`) -> `1.0.0+cal.20261203.ab12cd34`. */
export function calibratedVersion(version: string, date: Date, fingerprint: string): string {
  const core = version.split('+')[0] as string;
  const day = date.toISOString().slice(0, 10).replaceAll('-', '');
  return `${core}+cal.${day}.${fingerprint.slice(0, 8)}`;
}

/** Runs the calibration and writes the new model folder. Pure of console output. */
export async function calibrateModel(options: CalibrateModelOptions): Promise<CalibrateModelOutcome> {
  const now = options.now ?? new Date();
  const rule = options.rule ?? 'sens-spec';
  const sensitivity = options.sensitivity ?? 0.9;
  const specificity = options.specificity ?? 0.9;
  const resamples = options.bootstrap ?? 1000;
  const seed = options.seed ?? 42;
  let scoresBytes: Buffer;
  try {
    scoresBytes = await readFile(options.scores);
  } catch (err) {
    throw new CalibrateUsageError(`cannot read the scores file ${options.scores}: ${fsReason(err)}`);
  }
  const cohortSha256 = createHash('sha256').update(scoresBytes).digest('hex');
  const model = await loadModelFolder(options.model);
  const rows = readScores(scoresBytes.toString('utf8'));
  const vessels = model.card.outputs.vessels;
  const result = calibrateCohort(rows, { rule, sensitivity, specificity, bootstrap: resamples, seed, vessels });

  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ cohortSha256, rule, sensitivity, specificity, resamples, seed, model: model.card.sha256 }))
    .digest('hex');
  const version = calibratedVersion(model.card.version, now, fingerprint);
  const modelDir = resolve(options.model);
  const outDir = resolve(options.out ?? join(dirname(modelDir), `${model.card.id}-${version}`));
  if (existsSync(outDir)) throw new CalibrateUsageError(`${outDir} already exists: choose another --out`);
  if (!existsSync(dirname(outDir))) throw new CalibrateUsageError(`the folder ${dirname(outDir)} does not exist`);

  const rawCard = JSON.parse(await readFile(join(modelDir, CARD_FILE), 'utf8')) as Record<string, unknown>;
  const thresholds: Record<string, unknown> = {};
  const calibrationVessels: CardCalibration['vessels'] = {};
  for (const vessel of vessels) {
    const v = result.vessels[vessel];
    if (!v) continue;
    thresholds[vessel] = {
      ruleOut: v.ruleOut.threshold,
      ruleIn: v.ruleIn.threshold,
      ruleOutSensitivity: v.ruleOut.sensitivity,
      ruleInSpecificity: v.ruleIn.specificity,
    };
    calibrationVessels[vessel] = {
      n: v.n,
      positives: v.positives,
      auc: v.auc,
      ...(rule === 'sens-spec'
        ? { targetSensitivity: sensitivity, targetSpecificity: specificity }
        : { targetSpecificity: STUDY_RULES[vessel as Vessel].specificity }),
    };
  }
  const calibration: CardCalibration = {
    cohortSha256,
    rule,
    date: now.toISOString(),
    engineVersion: ENGINE_VERSION,
    calibratedFrom: model.card.version,
    bootstrap: { resamples, seed },
    vessels: calibrationVessels,
  };
  const card = { ...rawCard, version, thresholds, calibration };
  // The card must load before anything is written.
  parseModelCard(card);

  const temp = await mkdtemp(join(dirname(outDir), `.${basename(outDir)}.partial-`));
  try {
    for (const entry of await readdir(modelDir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name !== CARD_FILE && entry.name !== CALIBRATION_FILE) {
        await copyFile(join(modelDir, entry.name), join(temp, entry.name));
      }
    }
    await writeFile(join(temp, CARD_FILE), `${JSON.stringify(card, null, 2)}\n`);
    await writeFile(
      join(temp, CALIBRATION_FILE),
      `${JSON.stringify({ model: { id: model.card.id, version, calibratedFrom: model.card.version }, cohortSha256, ...result }, null, 2)}\n`,
    );
    // The cohort's outputs and strata under the new thresholds: the drift reference of this version (MONITORING.md).
    const profile = cohortReferenceProfile(rows, thresholds as Record<Vessel, { ruleOut: number; ruleIn: number }>, {
      source: 'calibrate',
      createdAt: now.toISOString(),
      model: { id: model.card.id, version },
    });
    await writeFile(join(temp, REFERENCE_PROFILE_FILE), `${JSON.stringify(profile, null, 2)}\n`);
    // The whole folder is checked as the engine will load it (hash, graph, card) before it is made visible.
    await loadModelFolder(temp);
    if (existsSync(outDir)) throw new CalibrateUsageError(`${outDir} already exists: choose another --out`);
    await rename(temp, outDir);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  return { outDir, previousVersion: model.card.version, version, modelId: model.card.id, cohortSha256, result };
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

const fixed = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
const interval = (ci: readonly [number, number] | null, digits = 3): string =>
  ci ? `${fixed(ci[0], digits)}-${fixed(ci[1], digits)}` : '-';

/** A human-readable summary: one block per vessel. */
export function formatCalibration(outcome: CalibrateModelOutcome): string {
  const { result } = outcome;
  const targets =
    result.rule === 'study'
      ? 'study rule: rule-out at 0.15 (LM 0.01), rule-in at the first grid value with specificity >= 0.95 (LM 0.87)'
      : `rule-out sensitivity >= ${(result.targets as { sensitivity: number }).sensitivity}, rule-in specificity >= ${(result.targets as { specificity: number }).specificity}`;
  const lines = [
    `${outcome.modelId} ${outcome.previousVersion} -> ${outcome.version}`,
    `${targets}; ${result.bootstrap.resamples} stratified bootstrap resamples, seed ${result.bootstrap.seed}`,
    '',
    'vessel      n    pos  AUC    DeLong 95% CI  bootstrap 95% CI',
  ];
  for (const [vessel, v] of Object.entries(result.vessels)) {
    lines.push(
      `${vessel.padEnd(6)} ${String(v.n).padStart(6)} ${String(v.positives).padStart(6)}  ${fixed(v.auc)}  ${interval(v.aucCi95.delong).padEnd(13)}  ${interval(v.aucCi95.bootstrap)}`,
    );
  }
  lines.push(
    '',
    'vessel  point     threshold  sens (95% CI)        spec (95% CI)        PPV (95% CI)         NPV (95% CI)',
  );
  for (const [vessel, v] of Object.entries(result.vessels)) {
    for (const [name, point] of [
      ['rule-out', v.ruleOut],
      ['rule-in', v.ruleIn],
    ] as const) {
      const cell = (x: number | null, ci: readonly [number, number] | null): string =>
        `${fixed(x)} (${interval(ci)})`.padEnd(19);
      lines.push(
        `${vessel.padEnd(6)}  ${name.padEnd(9)} ${fixed(point.threshold, 4).padStart(9)}  ${cell(point.sensitivity, point.ci95.sensitivity)}  ${cell(point.specificity, point.ci95.specificity)}  ${cell(point.ppv, point.ci95.ppv)}  ${cell(point.npv, point.ci95.npv)}`,
      );
    }
    for (const note of v.notes) lines.push(`${vessel.padEnd(6)}  note: ${note}`);
  }
  lines.push('', `new model folder: ${outcome.outDir}`, 'the live model folder was not changed');
  return lines.join('\n');
}

function parseNumber(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new CalibrateUsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'}, got "${text}"`);
  }
  return value;
}

interface CliOptions {
  scores: string;
  model: string;
  rule?: string;
  sensitivity?: string;
  specificity?: string;
  bootstrap?: string;
  seed?: string;
  out?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('calibrate')
    .description(
      "derive each vessel's rule-out / rule-in thresholds from a labelled cohort and write them into a new model folder version",
    )
    .requiredOption('--scores <file>', 'scores file with labels (from ecgcad score)')
    .requiredOption('--model <dir>', 'the model folder to calibrate (never edited)')
    .option('--rule <rule>', 'sens-spec (targets below) or study (the study notebook rule)', 'sens-spec')
    .option('--sensitivity <x>', 'target sensitivity of the rule-out threshold (sens-spec)', '0.9')
    .option('--specificity <x>', 'target specificity of the rule-in threshold (sens-spec)', '0.9')
    .option('--bootstrap <n>', 'bootstrap resamples for the CIs', '1000')
    .option('--seed <n>', 'bootstrap seed', '42')
    .option('--out <dir>', 'the new model folder (default: a sibling named <id>-<new version>; must not exist)')
    .option('--json', 'print the result as JSON')
    .action(async (options: CliOptions) => {
      let outcome: CalibrateModelOutcome;
      try {
        if (!CALIBRATION_RULES.includes(options.rule as CalibrationRule)) {
          throw new CalibrateUsageError(`--rule must be sens-spec or study, got "${options.rule}"`);
        }
        const settings: CalibrateModelOptions = {
          scores: options.scores,
          model: options.model,
          rule: options.rule as CalibrationRule,
        };
        const sensitivity = parseNumber('sensitivity', options.sensitivity, false);
        const specificity = parseNumber('specificity', options.specificity, false);
        const bootstrap = parseNumber('bootstrap', options.bootstrap, true);
        const seed = parseNumber('seed', options.seed, true);
        if (sensitivity !== undefined) settings.sensitivity = sensitivity;
        if (specificity !== undefined) settings.specificity = specificity;
        if (bootstrap !== undefined) settings.bootstrap = bootstrap;
        if (seed !== undefined) settings.seed = seed;
        if (options.out !== undefined) settings.out = options.out;
        outcome = await calibrateModel(settings);
      } catch (err) {
        if (
          err instanceof ScoresFileError ||
          err instanceof CalibrationError ||
          err instanceof CalibrateUsageError ||
          err instanceof EcgcadError
        ) {
          const where = err instanceof ScoresFileError ? `${options.scores}: ` : '';
          process.stderr.write(`ecgcad calibrate: ${where}${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      if (options.json) {
        const { result } = outcome;
        const json = {
          model: { id: outcome.modelId, version: outcome.version, calibratedFrom: outcome.previousVersion },
          out: outcome.outDir,
          cohortSha256: outcome.cohortSha256,
          ...result,
        };
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      } else {
        process.stdout.write(`${formatCalibration(outcome)}\n`);
      }
    });
}
