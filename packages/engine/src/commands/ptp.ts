/**
 * `ecgcad ptp --age N --sex male|female --symptoms typical|atypical|non-anginal|dyspnoea|none [--dyspnoea]
 * --risk-factors 0-5 [--cacs N] [--source formula|table] [--json]`: the pre-test probability of obstructive CAD by
 * ESC 2019, ESC 2024 RF-CL and, with a calcium score, CACS-CL, with their categories. A table by default; `--json`
 * prints
 * `{"esc2019": {...} | null, "esc2024": {...}, "cacsCl": {...} | null, "notes": [...]}`. Bad or out-of-range
 * input: exit 2 with the reason on stderr.
 */
import {
  type PtpInput,
  PtpInputError,
  type PtpModel,
  type PtpResult,
  type PtpValue,
  pretestProbability,
  ptpLevel,
  SYMPTOM_TYPES,
  type SymptomType,
} from '@ecgcad/clinical';
import type { Command } from 'commander';

/** The command's options as commander hands them over (all text; checked here so bad input exits 2). */
export interface PtpCommandOptions {
  age?: string;
  sex?: string;
  symptoms?: string;
  riskFactors?: string;
  dyspnoea?: boolean;
  cacs?: string;
  source?: string;
  json?: boolean;
}

/** A command-line value that is missing or not of the right form; names the option. */
export class PtpOptionError extends Error {
  override readonly name = 'PtpOptionError';
}

function required(value: string | undefined, option: string): string {
  if (value === undefined || value.trim() === '') throw new PtpOptionError(`${option} is required`);
  return value.trim();
}

function numberOption(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new PtpOptionError(`${option} must be a number`);
  return n;
}

/** Turns the command's options into model input; range checks are the models' (PtpInputError). */
export function ptpInputOf(options: PtpCommandOptions): PtpInput {
  const age = numberOption(required(options.age, '--age'), '--age');
  const sex = required(options.sex, '--sex').toLowerCase();
  if (sex !== 'male' && sex !== 'female') throw new PtpOptionError('--sex must be male or female');
  const symptoms = required(options.symptoms, '--symptoms').toLowerCase();
  if (!(SYMPTOM_TYPES as readonly string[]).includes(symptoms)) {
    throw new PtpOptionError(`--symptoms must be one of ${SYMPTOM_TYPES.join(', ')}`);
  }
  const riskFactors = numberOption(required(options.riskFactors, '--risk-factors'), '--risk-factors');
  const input: PtpInput = { age, sex, symptoms: symptoms as SymptomType, riskFactors };
  if (options.dyspnoea === true) input.dyspnoea = true;
  if (options.cacs !== undefined) input.cacs = numberOption(required(options.cacs, '--cacs'), '--cacs');
  return input;
}

const OPTION_OF: Record<keyof PtpInput, string> = {
  age: '--age',
  sex: '--sex',
  symptoms: '--symptoms',
  dyspnoea: '--dyspnoea',
  riskFactors: '--risk-factors',
  cacs: '--cacs',
};

const percentText = (value: PtpValue): string =>
  Number.isInteger(value.percent) ? `${value.percent} %` : `${value.percent.toFixed(1)} %`;

/** The result as a short table: model, percent, the model's category and the three-level scale, then notes. */
export function formatPtpResult(result: PtpResult): string {
  const rows: Array<[string, PtpModel, PtpValue | null, string]> = [
    ['ESC 2019 (table)', 'esc2019', result.esc2019, 'no cell for this patient'],
    [`ESC 2024 RF-CL (${result.esc2024.source})`, 'esc2024', result.esc2024, ''],
    ['CACS-CL (Winther 2020)', 'cacs-cl', result.cacsCl, 'no calcium score given'],
  ];
  const lines = [`${'model'.padEnd(26)}${'PTP'.padStart(8)}  ${'category'.padEnd(14)}level`];
  for (const [name, model, value, missing] of rows) {
    lines.push(
      value === null
        ? `${name.padEnd(26)}${'-'.padStart(8)}  ${missing}`
        : `${name.padEnd(26)}${percentText(value).padStart(8)}  ${value.category.padEnd(14)}${ptpLevel(model, value.category)}`,
    );
  }
  if (result.notes.length > 0) lines.push('', ...result.notes.map((note) => `- ${note}`));
  return lines.join('\n');
}

/** Runs the command: prints the result, or the reason and exit code 2. */
export function runPtp(options: PtpCommandOptions): void {
  let result: PtpResult;
  try {
    const source = options.source ?? 'formula';
    if (source !== 'formula' && source !== 'table') throw new PtpOptionError('--source must be formula or table');
    result = pretestProbability(ptpInputOf(options), { esc2024Source: source });
  } catch (err) {
    if (err instanceof PtpOptionError || err instanceof PtpInputError) {
      const option = err instanceof PtpInputError ? `${OPTION_OF[err.input]}: ` : '';
      process.stderr.write(`ecgcad ptp: ${option}${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : formatPtpResult(result)}\n`);
}

export function register(program: Command): void {
  program
    .command('ptp')
    .description('pre-test probability of obstructive CAD: ESC 2019, ESC 2024 RF-CL and, with a calcium score, CACS-CL')
    .option('--age <years>', 'age in years (30-80)')
    .option('--sex <sex>', 'male or female')
    .option(
      '--symptoms <type>',
      `chest-pain type, or dyspnoea when it is the only symptom: ${SYMPTOM_TYPES.join(', ')}`,
    )
    .option('--dyspnoea', 'dyspnoea beside the chest-pain type given in --symptoms')
    .option(
      '--risk-factors <count>',
      'ESC risk factors present, 0-5: family history, smoking, dyslipidaemia, hypertension, diabetes',
    )
    .option('--cacs <agatston>', 'coronary artery calcium score (Agatston), for CACS-CL')
    .option(
      '--source <source>',
      'ESC 2024 percent from the RF-CL model at the exact age (formula) or the guideline table',
      'formula',
    )
    .option('--json', 'print the result as JSON')
    .action((options: PtpCommandOptions) => runPtp(options));
}
