/**
 * `ecgcad synth --count N --format dicom|aecg --out DIR [--seed S] [--rate 500|1000] [--leads 8|12]
 * [--duration 10] [--fast] [--no-progress]`: writes N synthetic 12-lead ECGs (see @ecgcad/ecg `synthesize`) as
 * DICOM 12-lead ECG or HL7 aECG files. File i uses seed S + i and is named `synth-<seed>.dcm|.xml` (zero-padded),
 * so the same command always writes the same files. Prints one summary line on stdout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EcgcadError, synthesizeEcg } from '@ecgcad/ecg';
import { type StoredLeads, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { integerOption } from './options.js';

/** Options of {@link runSynth}. */
export interface SynthCommandOptions {
  /** Number of files. */
  count: number;
  format: 'dicom' | 'aecg';
  /** Output folder (created if missing). */
  out: string;
  /** Seed of the first file; file i uses seed + i. Default 1. */
  seed?: number;
  /** Samples per second. Default 500. */
  rateHz?: number;
  /** Stored leads. Default 12. */
  leads?: StoredLeads;
  /** Seconds per ECG. Default 10. */
  durationS?: number;
  /** The generator's benchmark mode (table-driven muscle noise). Default false. */
  fast?: boolean;
  /**
   * Show a progress bar on stderr. Default: when stderr is a terminal and count >= 20, or count >= 1000 (then a
   * line every few seconds where stderr is not a terminal).
   */
  progress?: boolean;
}

/** What {@link runSynth} did. */
export interface SynthSummary {
  files: number;
  bytes: number;
  firstFile: string;
  lastFile: string;
  seconds: number;
}

/** The part of cli-progress used here (the package ships no types). */
interface ProgressBar {
  start(total: number, value: number): void;
  update(value: number): void;
  stop(): void;
}
interface CliProgress {
  SingleBar: new (options: Record<string, unknown>, preset: unknown) => ProgressBar;
  Presets: { shades_classic: unknown };
}

function progressBar(count: number, progress: boolean | undefined): ProgressBar | undefined {
  const tty = process.stderr.isTTY === true;
  const show = progress ?? ((tty && count >= 20) || count >= 1000);
  if (!show) return undefined;
  const cliProgress = createRequire(import.meta.url)('cli-progress') as CliProgress;
  return new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'synth [{bar}] {percentage}% | {value}/{total} ECGs | {eta}s left',
      noTTYOutput: !tty,
      notTTYSchedule: 5000,
      hideCursor: tty,
    },
    cliProgress.Presets.shades_classic,
  );
}

/** Writes the files; returns a summary. Throws ConfigError for bad options (from the generator or writers). */
export async function runSynth(options: SynthCommandOptions): Promise<SynthSummary> {
  const seed = options.seed ?? 1;
  const leads = options.leads ?? 12;
  const ext = options.format === 'dicom' ? 'dcm' : 'xml';
  const width = String(seed + options.count - 1).length;
  const name = (s: number): string => `synth-${String(s).padStart(width, '0')}.${ext}`;
  await mkdir(options.out, { recursive: true });
  const bar = progressBar(options.count, options.progress);
  bar?.start(options.count, 0);
  const started = performance.now();
  let bytes = 0;
  try {
    for (let i = 0; i < options.count; i++) {
      const ecg = synthesizeEcg({
        seed: seed + i,
        sampleRateHz: options.rateHz ?? 500,
        durationS: options.durationS ?? 10,
        fast: options.fast ?? false,
      });
      const data = options.format === 'dicom' ? writeDicomEcg(ecg, { leads }) : writeAecg(ecg, { leads });
      await writeFile(join(options.out, name(seed + i)), data);
      bytes += data.length;
      if (bar && (i % 25 === 24 || i === options.count - 1)) bar.update(i + 1);
    }
  } finally {
    bar?.stop();
  }
  return {
    files: options.count,
    bytes,
    firstFile: name(seed),
    lastFile: name(seed + options.count - 1),
    seconds: (performance.now() - started) / 1000,
  };
}

const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 60) throw new InvalidArgumentError('duration must be 1 to 60 seconds');
  return n;
};

export function register(program: Command): void {
  program
    .command('synth')
    .description('write synthetic 12-lead ECGs (ECGSYN-style, deterministic per seed) as DICOM or HL7 aECG files')
    .requiredOption('--count <n>', 'number of ECG files', integerOption('count', 1, 10_000_000))
    .addOption(new Option('--format <format>', 'file format').choices(['dicom', 'aecg']).makeOptionMandatory())
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--seed <s>', 'seed of the first file; file i uses seed + i', integerOption('seed', 0, 0xffffffff), 1)
    .addOption(new Option('--rate <hz>', 'samples per second').choices(['500', '1000']).default('500'))
    .addOption(new Option('--leads <n>', 'stored leads (8 = I, II, V1-V6)').choices(['8', '12']).default('12'))
    .option('--duration <s>', 'seconds per ECG', seconds, 10)
    .option('--fast', "the generator's benchmark mode (table-driven noise)")
    .option('--no-progress', 'never show a progress bar')
    .action(
      async (opts: {
        count: number;
        format: 'dicom' | 'aecg';
        out: string;
        seed: number;
        rate: string;
        leads: string;
        duration: number;
        fast?: boolean;
        progress: boolean;
      }) => {
        try {
          const summary = await runSynth({
            count: opts.count,
            format: opts.format,
            out: opts.out,
            seed: opts.seed,
            rateHz: Number(opts.rate),
            leads: Number(opts.leads) as StoredLeads,
            durationS: opts.duration,
            fast: opts.fast === true,
            // --no-progress forces it off; otherwise the default rule decides.
            progress: opts.progress === false ? false : undefined,
          });
          const perS = summary.seconds > 0 ? Math.round(summary.files / summary.seconds) : summary.files;
          process.stdout.write(
            `wrote ${summary.files} ${opts.format} files (${opts.leads} leads, ${opts.rate} Hz, ${opts.duration} s) ` +
              `${summary.firstFile} .. ${summary.lastFile} to ${opts.out}: ${(summary.bytes / 1e6).toFixed(1)} MB ` +
              `in ${summary.seconds.toFixed(1)} s (${perS} ECG/s)\n`,
          );
        } catch (err) {
          const reason = err instanceof EcgcadError || err instanceof Error ? err.message : String(err);
          process.stderr.write(`ecgcad synth: ${reason.replace(/\s*\n\s*/g, ' ')}\n`);
          process.exitCode = 1;
        }
      },
    );
}
