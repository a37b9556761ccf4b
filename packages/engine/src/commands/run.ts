/**
 * `ecgcad run [--out DIR] [--fhir-url URL] [--model DIR] PATH...`: embedded mode over files and folders. Writes one
 * Bundle per ECG (files under --out, or a transaction to --fhir-url), prints one line per refused file with its
 * reason and a table of per-vessel probabilities and strata. Exit code 1 when any input was refused or failed.
 * With no PATH (the default of `npm start`) it runs the demo: synthetic ECGs through the whole pipeline.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import type { FhirWriter } from '@ecgcad/fhir-writer';
import type { Predictor } from '@ecgcad/infer';
import { writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { type Command, InvalidArgumentError } from 'commander';
import { Registry } from 'prom-client';
import { type EngineConfig, loadConfig } from '../config.js';
import { type EcgOutcome, EmbeddedPipeline, expandPaths, runFiles } from '../embedded.js';
import { createLogger } from '../logger.js';
import { formatProblems, formatTable, ProgressLine } from '../report.js';
import { ShadowMetrics } from '../shadow-metrics.js';
import { shadowFileOf, startShadow } from '../shadow-mode.js';
import { JsonlShadowStore } from '../shadow-store.js';
import { predictorFromConfig, writerFromConfig } from '../stages.js';

/** Flags of `ecgcad run`. */
export interface RunFlags {
  out?: string;
  fhirUrl?: string;
  model?: string;
  config?: string;
  concurrency?: number;
  progress?: boolean;
}

/** What a run did. */
export interface RunSummary {
  outcomes: EcgOutcome[];
  written: number;
  refused: number;
  failed: number;
}

function configFrom(flags: RunFlags): EngineConfig {
  return loadConfig({
    ...(flags.config ? { file: flags.config } : {}),
    overrides: [
      { path: ['out'], value: flags.out },
      { path: ['fhir', 'url'], value: flags.fhirUrl },
      { path: ['model', 'dir'], value: flags.model },
    ],
  });
}

/** Runs files through the embedded pipeline and prints the report. */
export async function runCommand(
  paths: string[],
  flags: RunFlags,
  out: NodeJS.WritableStream = process.stdout,
  /** A Predictor to use instead of loading the configured model (the caller keeps and closes it: benchmarks). */
  shared?: Predictor,
): Promise<RunSummary> {
  const config = configFrom(flags);
  // The model loads on ONNX Runtime's worker thread while this thread lists the files and loads the writer's R4
  // definitions (about a second): the two start-up costs overlap instead of adding up.
  const loading = shared ? undefined : predictorFromConfig(config);
  loading?.catch(() => undefined); // awaited below; this only keeps a failed load from being unhandled meanwhile
  let files: string[];
  let writer: FhirWriter;
  try {
    files = await expandPaths(paths);
    writer = writerFromConfig(config);
  } catch (err) {
    await loading?.then((p) => p.close()).catch(() => undefined);
    throw err;
  }
  const predictor = shared ?? ((await loading) as Predictor);
  // Shadow mode: the shadow's records go to a JSONL file (`ecgcad shadow report --file`), never to the sink.
  let compared = 0;
  const shadowFile = shadowFileOf(config);
  const shadow = await startShadow({
    config,
    live: predictor,
    metrics: new ShadowMetrics(new Registry()),
    logger: createLogger(config.log.level === 'info' ? 'warn' : config.log.level),
    store: () => {
      const store = new JsonlShadowStore(shadowFile);
      return { records: () => store.records(), append: (r) => store.append(r).then(() => void compared++) };
    },
  });
  const pipeline = new EmbeddedPipeline({
    predictor,
    ...(shadow ? { shadow } : {}),
    writer,
    retry: config.retry,
    ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
  });
  const progress = new ProgressLine(files.length, process.stderr, flags.progress === false ? false : undefined);
  let outcomes: EcgOutcome[];
  try {
    outcomes = await runFiles(pipeline, files, () => progress.tick());
  } finally {
    progress.stop();
    if (shared) await shadow?.close();
    else await pipeline.close();
  }
  const table = formatTable(outcomes);
  if (table) out.write(`${table}\n`);
  for (const line of formatProblems(outcomes)) out.write(`${line}\n`);
  const summary: RunSummary = {
    outcomes,
    written: outcomes.filter((o) => o.kind === 'done').length,
    refused: outcomes.filter((o) => o.kind === 'refused').length,
    failed: outcomes.filter((o) => o.kind === 'failed').length,
  };
  const target = config.fhir.url ? `to ${new URL(config.fhir.url).origin}` : `under ${resolve(config.out)}`;
  out.write(
    `${files.length} input(s): ${summary.written} Bundle(s) written ${target}, ${summary.refused} refused, ${summary.failed} failed\n`,
  );
  if (shadow) {
    out.write(
      `shadow: ${compared} ECG(s) also scored by ${shadow.shadow.model.ref.id}@${shadow.shadow.model.ref.version} (not written), recorded in ${resolve(shadowFile)}: ecgcad shadow report --file <that file>\n`,
    );
  }
  return summary;
}

/** The demo's synthetic ECGs: normal records and ones with ST depression in different territories. */
function demoEcgs(count: number): Array<{ name: string; ecg: Ecg; format: 'dicom' | 'aecg' }> {
  const variants: Array<Parameters<typeof synthesizeEcg>[0]> = [
    {},
    { st: { leads: 'anterior', shiftUv: -200 } },
    { st: { leads: 'inferior', shiftUv: -150 } },
    { heartRateBpm: 95 },
    { st: { leads: 'lateral', shiftUv: -250 } },
    { st: { leads: 'septal', shiftUv: 150 } },
    // A lead-off channel: the quality gate refuses to score it, and the EHR still gets a coded result.
    { flatLeads: ['V3'] },
  ];
  return Array.from({ length: count }, (_, i) => {
    const format = i % 2 === 0 ? 'dicom' : 'aecg';
    const ecg = synthesizeEcg({ seed: 1000 + i, ...variants[i % variants.length] });
    return { name: `demo-${String(i + 1).padStart(2, '0')}.${format === 'dicom' ? 'dcm' : 'xml'}`, ecg, format };
  });
}

/** Demo inputs by default: six scored ECGs and one with a lead off. */
const DEMO_COUNT = 7;

/** `npm start`: synthetic DICOM and aECG files through the whole pipeline with the demo model. */
export async function runDemo(flags: RunFlags & { count?: number }, out = process.stdout): Promise<RunSummary> {
  const config = configFrom(flags);
  const inputDir = join(config.out, 'demo-input');
  await mkdir(inputDir, { recursive: true });
  out.write(
    `ecgcad demo: writing ${flags.count ?? DEMO_COUNT} synthetic ECGs (DICOM and HL7 aECG) to ${resolve(inputDir)}\n`,
  );
  for (const { name, ecg, format } of demoEcgs(flags.count ?? DEMO_COUNT)) {
    await writeFile(join(inputDir, name), format === 'dicom' ? writeDicomEcg(ecg) : writeAecg(ecg));
  }
  const summary = await runCommand([inputDir], { ...flags, out: join(config.out, 'bundles') }, out);
  out.write(
    'Note: the demo model (ecgcad-demo, clinicalUse: false) has generated weights; its outputs have NO clinical meaning.\n',
  );
  return summary;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** Adds the options `run` and the demo share. */
export function addRunOptions(command: Command): Command {
  return command
    .option('-o, --out <dir>', 'folder for Bundle files when no FHIR URL is given (default ./out, or ECGCAD_OUT)')
    .option('--fhir-url <url>', 'post transaction Bundles to this FHIR R4 base URL instead (or ECGCAD_FHIR_URL)')
    .option('-m, --model <dir>', 'model folder (default the generated demo model, or ECGCAD_MODEL_DIR)')
    .option('-c, --config <file>', 'configuration file (JSON; default ECGCAD_CONFIG)')
    .option('--concurrency <n>', 'ECGs in flight at once (default 32)', positiveInt)
    .option('--no-progress', 'no progress bar (it shows only on a terminal anyway)');
}

export function register(program: Command): void {
  addRunOptions(
    program
      .command('run')
      .description('decode, score and write ECG files or folders in this process (no Redis needed)')
      .argument('<paths...>', 'ECG files (DICOM waveform, HL7 aECG, GE MUSE XML) or folders of them'),
  ).action(async (paths: string[], flags: RunFlags) => {
    const summary = await runCommand(paths, flags);
    if (summary.refused + summary.failed > 0) process.exitCode = 1;
  });
  addRunOptions(
    program
      .command('demo')
      .description('write synthetic ECGs and run them through the whole pipeline with the demo model (npm start)')
      .option('--count <n>', `number of synthetic ECGs (default ${DEMO_COUNT})`, positiveInt),
  ).action(async (flags: RunFlags & { count?: number }) => {
    const summary = await runDemo(flags);
    if (summary.refused + summary.failed > 0) process.exitCode = 1;
  });
}
