/**
 * `ecgcad cohort --out DIR [--count N] [--seed S]`: writes a synthetic labelled cohort whose true AUC per vessel is
 * known by construction (see ../cohort.ts): `ecgs/` (DICOM and HL7 aECG files), `manifest.csv` (labels, PTP
 * inputs, MACE follow-up), `model/` (a generated model that reads the planted effect; clinicalUse false) and
 * `cohort.json` (what was planted). Then `ecgcad score --manifest DIR/manifest.csv --model DIR/model ...`.
 */
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateCohort, SCORE_COLUMNS } from '@ecgcad/clinical';
import { VESSELS } from '@ecgcad/ecg';
import { CARD_FILE, MODEL_FILE } from '@ecgcad/infer';
import { writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { type Command, InvalidArgumentError } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { buildCohortModel, cohortDescription, cohortEcg, cohortEcgSeed, subjectFile } from '../cohort.js';
import { ProgressLine } from '../report.js';

/** Flags of `ecgcad cohort`. */
export interface CohortFlags {
  out: string;
  /** Subjects (ECG files). Default 1000. */
  count?: number;
  /** Seed. Default 1. */
  seed?: number;
  progress?: boolean;
}

/** The manifest's columns: `path`, then the scores file's label and clinical columns. */
export const MANIFEST_COLUMNS: readonly string[] = [
  'path',
  ...SCORE_COLUMNS.filter(
    (c) => c.startsWith('label_') || !['ecg_id', 'path', 'model', 'status', 'reason', ...VESSELS].includes(c),
  ),
];

/** A cohort folder cannot be written (exit code 2). */
export class CohortUsageError extends Error {
  override readonly name = 'CohortUsageError';
}

/** Writes the cohort folder; returns the description written to cohort.json. */
export async function cohortCommand(
  flags: CohortFlags,
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<Record<string, unknown>> {
  const dir = resolve(flags.out);
  const count = flags.count ?? 1000;
  const seed = flags.seed ?? 1;
  const existing = await readdir(dir).catch(() => []);
  if (existing.length > 0) throw new CohortUsageError(`${dir} is not empty: give a new or empty folder to --out`);
  const cohort = generateCohort({ count, seed });
  await mkdir(join(dir, 'ecgs'), { recursive: true });
  const progress = new ProgressLine(count, stderr, flags.progress === false ? false : undefined);
  const manifestRows: string[][] = [];
  try {
    for (const subject of cohort.subjects) {
      const { path, format } = subjectFile(subject);
      const ecg = cohortEcg(subject.latents, cohortEcgSeed(seed, subject.index));
      await writeFile(join(dir, path), format === 'dicom' ? writeDicomEcg(ecg) : writeAecg(ecg));
      const c = subject.clinical;
      manifestRows.push([
        path,
        ...VESSELS.map((v) => String(c.labels[v])),
        String(c.age),
        String(c.sex),
        String(c.symptoms),
        String(c.riskFactors),
        String(c.cacs),
        String(c.maceDays),
        String(c.maceEvent),
      ]);
      progress.tick();
    }
  } finally {
    progress.stop();
  }
  // The model folder appears whole or not at all: written beside, then renamed into place.
  const model = buildCohortModel(cohort);
  const staging = join(dir, '.model.tmp');
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, MODEL_FILE), model.bytes);
  await writeFile(join(staging, CARD_FILE), `${JSON.stringify(model.card, null, 2)}\n`);
  await rename(staging, join(dir, 'model'));
  await writeFile(join(dir, 'manifest.csv'), stringify([MANIFEST_COLUMNS as string[], ...manifestRows]));
  const description = cohortDescription(cohort, seed);
  await writeFile(join(dir, 'cohort.json'), `${JSON.stringify(description, null, 2)}\n`);

  const vessels = description.vessels as Record<string, { plantedAuc: number; positives: number }>;
  stdout.write(`ecgcad cohort: ${count} synthetic ECGs (DICOM and HL7 aECG) with labels under ${dir}\n`);
  for (const v of VESSELS) {
    const x = vessels[v] as { plantedAuc: number; positives: number };
    stdout.write(`  ${v.padEnd(4)} planted AUC ${x.plantedAuc.toFixed(2)}, ${x.positives} positive(s)\n`);
  }
  stdout.write(
    `Next: ecgcad score --manifest ${join(dir, 'manifest.csv')} --model ${join(dir, 'model')} --out scores.csv\n` +
      'Synthetic data and a model that reads a planted effect: no clinical meaning.\n',
  );
  return description;
}

function wholeNumber(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > 0xffffffff)
      throw new InvalidArgumentError(`must be a whole number >= ${min}`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('cohort')
    .description(
      'write a synthetic labelled cohort (ECG files, manifest, a model that reads a planted effect) with a known AUC per vessel',
    )
    .requiredOption('-o, --out <dir>', 'new or empty folder to write')
    .option('--count <n>', 'number of subjects / ECG files (default 1000)', wholeNumber(1))
    .option('--seed <n>', 'seed; the same seed and count give the same cohort (default 1)', wholeNumber(0))
    .option('--no-progress', 'no progress bar (it shows only on a terminal anyway)')
    .action(async (flags: CohortFlags) => {
      try {
        await cohortCommand(flags);
      } catch (err) {
        if (err instanceof CohortUsageError) {
          process.stderr.write(`ecgcad cohort: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
    });
}
