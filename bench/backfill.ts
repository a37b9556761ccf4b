/**
 * Embedded backfill: `ecgcad run` over N synthetic 10 s 12-lead DICOM files to Bundle files, against the Predictor
 * alone on the same ECGs already decoded (same model, same session settings, same attribution setting, same number
 * in flight), in one run. Prints ECG/s of each, the ratio, the CPU time per ECG outside inference (all threads of
 * the process), the settings that ran, and a verdict line for the full-size model (target >= 0.85).
 *
 *   npx turbo run build && npx tsx bench/backfill.ts [--count 2000] [--model both|full|demo|DIR] [--threads N]
 *     [--concurrency N] [--attribution never|any-high|always] [--maps N] [--waveform true|false]
 *     [--cli yes|no|only] [--engine ROOT] [--profile DIR]
 *
 * `run` is measured twice: in this process (runCommand, the code path of the CLI, with the model and the R4
 * definitions loaded beforehand, like for like with the Predictor phase: the verdict's ratio) and, with `--cli yes`
 * (the default), as users run it: `node packages/engine/dist/cli.js run --out DIR FOLDER` in a child process, node
 * start-up, model and definitions load included (its CPU from bash's `times`). `--cli only` skips the in-process
 * run and `--engine ROOT` runs the CLI of another built worktree: a same-run A/B against an older build.
 *
 * Settings: the engine's defaults, except attribution. Each Bundle carries the waveform (fhir.waveform, about
 * 200 KB of JSON; `--waveform false` leaves it out), fast R4 validation. `ecgcad run` has no drift monitor (it lives in queued mode, on Redis).
 * Occlusion maps (attribution.when, default any-high in the engine) are off on both sides by default: the full-size
 * model puts most synthetic ECGs in a high stratum, and a map costs about 120 model runs, so with them on both
 * phases would measure maps, not the pipeline (and take hours). `--attribution` turns them on for both sides alike;
 * their cost is printed apart, measured on `--maps N` ECGs (default 2; 0 skips it).
 * `--profile DIR` writes a V8 CPU profile of the in-process run (DIR/run-<model>.cpuprofile).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { Ecg } from '@ecgcad/ecg';
import { type EngineConfig, loadConfig, predictorFromConfig } from '@ecgcad/engine';
import { loadR4Definitions } from '@ecgcad/fhir-writer';
import { applyEngineHeapSettings } from '@ecgcad/ingest';
import { runCommand } from '../packages/engine/src/commands/run.js';
import { cpuMs, decodeFiles, measurePredictorAlone, modelDir, writeSyntheticDicomFiles } from './support.js';

// The in-process run (and the Predictor alone beside it) with the heap settings the `ecgcad` command makes at start.
applyEngineHeapSettings();

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    model: { type: 'string', default: 'both' },
    threads: { type: 'string' },
    concurrency: { type: 'string' },
    attribution: { type: 'string', default: 'never' },
    maps: { type: 'string', default: '2' },
    waveform: { type: 'string', default: 'true' },
    cli: { type: 'string', default: 'yes' },
    engine: { type: 'string' },
    profile: { type: 'string' },
  },
});
const COUNT = Number(values.count);
const THREADS = values.threads ? Number(values.threads) : undefined;
const ATTRIBUTION = values.attribution;
if (!['any-high', 'always', 'never'].includes(ATTRIBUTION)) throw new Error('--attribution: never, any-high or always');
if (!['yes', 'no', 'only'].includes(values.cli)) throw new Error('--cli: yes, no or only');
const MAPS = Number(values.maps);
if (!['true', 'false'].includes(values.waveform)) throw new Error('--waveform: true or false');
const WAVEFORM = values.waveform === 'true';
const PROFILE_DIR = values.profile ? resolve(values.profile) : undefined;
const ENGINE_ROOT = resolve(values.engine ?? fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ENGINE_ROOT, 'packages/engine/dist/cli.js');
const TARGET = 0.85;
const discard = (): Writable => new Writable({ write: (_c, _e, done) => done() });

/** Bundle files in `dir`: how many, and the mean size of the first 50. */
async function bundlesIn(dir: string): Promise<{ count: number; meanBytes: number }> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  let bytes = 0;
  for (const name of names.slice(0, 50)) bytes += (await stat(join(dir, name))).size;
  return { count: names.length, meanBytes: bytes / Math.max(1, Math.min(50, names.length)) };
}

/** The bench's settings as the environment variables `ecgcad run` reads (its own configuration, in or out of process). */
function settingsEnv(config: EngineConfig): Record<string, string> {
  return {
    ...(THREADS === undefined ? {} : { ECGCAD_THREADS: String(THREADS) }),
    ECGCAD_ATTRIBUTION: config.attribution.when,
    ECGCAD_FHIR_WAVEFORM: String(config.fhir.waveform),
  };
}

/** `ecgcad run` in a child process: wall seconds and the child's CPU ms (user + system, from bash's `times`). */
async function runCli(
  config: EngineConfig,
  input: string,
  out: string,
  concurrency: number,
): Promise<{ seconds: number; cpuMs: number }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('ECGCAD_')) env[key] = value;
  Object.assign(env, settingsEnv(config));
  const args = ['run', '--no-progress', '--model', config.model.dir, '--out', out, '--concurrency', `${concurrency}`];
  // `times` prints the shell's CPU times, then its children's: the last line is the engine's.
  const script = 'node "$@" > /dev/null; status=$?; times; exit $status';
  const start = performance.now();
  const { stdout } = await promisify(execFile)('bash', ['-c', script, 'bash', CLI, ...args, input], {
    env,
    maxBuffer: 1024 * 1024,
  });
  const seconds = (performance.now() - start) / 1000;
  const children = stdout.trim().split('\n').at(-1) ?? '';
  const ms = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000,
    0,
  );
  return { seconds, cpuMs: ms };
}

/** The occlusion maps' cost apart: `ecgs` mapped (attribution always), all in flight, against plain predictions. */
async function measureMaps(config: EngineConfig, ecgs: Ecg[]): Promise<string> {
  const mapping = await predictorFromConfig({ ...config, attribution: { ...config.attribution, when: 'always' } });
  await mapping.predict(ecgs[0] as Ecg); // warm-up (one map)
  const cpu = cpuMs();
  const start = performance.now();
  const predictions = await Promise.all(ecgs.map((ecg) => mapping.predict(ecg)));
  const seconds = (performance.now() - start) / 1000;
  const mapCpu = (cpuMs() - cpu) / ecgs.length;
  await mapping.close();
  const mapped = predictions.filter((p) => p.status === 'scored' && p.attribution).length;
  return `${(mapCpu / 1000).toFixed(1)} s CPU and ${(seconds / ecgs.length).toFixed(1)} s per mapped ECG (${mapped} of ${ecgs.length} mapped, all in flight)`;
}

interface ModelResult {
  name: string;
  ratio: number | undefined;
  cliRatio: number | undefined;
}

async function benchModel(name: string, inputDir: string, names: string[], workDir: string): Promise<ModelResult> {
  const dir = await modelDir(name);
  const config = loadConfig({
    env: {},
    overrides: [
      { path: ['model', 'dir'], value: dir },
      { path: ['model', 'threads'], value: THREADS },
      { path: ['attribution', 'when'], value: ATTRIBUTION },
      { path: ['fhir', 'waveform'], value: WAVEFORM },
    ],
  });
  const concurrency = values.concurrency ? Number(values.concurrency) : 2 * config.model.maxBatch;
  const modelName = dir.split('/').pop() ?? dir;

  // 1. The Predictor alone on the decoded ECGs, configured as `run` configures it (attribution included).
  let decoded = await decodeFiles(inputDir, names);
  const warmUp = decoded.slice(0, concurrency);
  const mapSample = decoded.slice(0, MAPS);
  const predictor = await predictorFromConfig(config);
  const alone = await measurePredictorAlone(predictor, decoded, concurrency);
  await predictor.close();
  decoded = [];
  const mapsLine = MAPS > 0 ? await measureMaps(config, mapSample) : 'not measured (--maps 0)';

  // 2. `ecgcad run` in this process, the model and the R4 definitions loaded beforehand (like for like).
  let runLine: string | undefined;
  let ratio: number | undefined;
  let meanBytes = Number.NaN;
  let load = loadavg()[0] ?? Number.NaN;
  if (values.cli !== 'only') {
    const r4Start = performance.now();
    loadR4Definitions();
    const r4Seconds = (performance.now() - r4Start) / 1000;
    const warm = await predictorFromConfig(config);
    await Promise.all(warmUp.map((ecg) => warm.predict(ecg)));
    const batches: number[] = [];
    warm.batcher.on('batch', (event: { size: number }) => batches.push(event.size));
    const out = join(workDir, `bundles-${modelName}`);
    let session: Session | undefined;
    if (PROFILE_DIR) {
      await mkdir(PROFILE_DIR, { recursive: true });
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
    }
    load = loadavg()[0] ?? Number.NaN;
    const cpu = cpuMs();
    const start = performance.now();
    // runCommand loads its configuration as the CLI does (file + environment): this process's ECGCAD_* are replaced.
    for (const key of Object.keys(process.env)) if (key.startsWith('ECGCAD_')) delete process.env[key];
    Object.assign(process.env, settingsEnv(config));
    const summary = await runCommand([inputDir], { out, model: dir, concurrency, progress: false }, discard(), warm);
    const runSeconds = (performance.now() - start) / 1000;
    const runCpuPerEcg = (cpuMs() - cpu) / COUNT;
    if (session && PROFILE_DIR) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(join(PROFILE_DIR, `run-${modelName}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    }
    await warm.close();
    const bundles = await bundlesIn(out);
    await rm(out, { recursive: true, force: true });
    if (summary.written !== COUNT || bundles.count !== COUNT) {
      throw new Error(`run wrote ${bundles.count} Bundle files, ${summary.written} reported, of ${COUNT}`);
    }
    meanBytes = bundles.meanBytes;
    const runRate = COUNT / runSeconds;
    ratio = runRate / alone.rate;
    const meanBatch = batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length);
    runLine =
      `  ecgcad run, in-process, model + R4 definitions loaded (${r4Seconds.toFixed(2)} s): ${runRate.toFixed(1)} ECG/s ` +
      `(${runCpuPerEcg.toFixed(1)} ms CPU/ECG, ${(runCpuPerEcg - alone.cpuPerEcg).toFixed(1)} ms/ECG outside ` +
      `inference: read, decode, Bundle, validation, file; mean batch ${meanBatch.toFixed(1)}), ratio ${ratio.toFixed(2)}; ` +
      `CPU ratio ${(alone.cpuPerEcg / runCpuPerEcg).toFixed(2)} (the wall ratio where both would saturate idle cores)`;
  }
  warmUp.length = 0;

  // 3. The CLI in a child process, as users run it (node start-up, model and definitions load included).
  let cliLine: string | undefined;
  let cliRatio: number | undefined;
  if (values.cli !== 'no') {
    const cliOut = join(workDir, `cli-${modelName}`);
    const cli = await runCli(config, inputDir, cliOut, concurrency);
    const cliBundles = await bundlesIn(cliOut);
    await rm(cliOut, { recursive: true, force: true });
    if (cliBundles.count !== COUNT) throw new Error(`the CLI wrote ${cliBundles.count} Bundle files of ${COUNT}`);
    if (Number.isNaN(meanBytes)) meanBytes = cliBundles.meanBytes;
    const cliRate = COUNT / cli.seconds;
    cliRatio = cliRate / alone.rate;
    cliLine =
      `  ecgcad run, CLI child${values.engine ? ` of ${ENGINE_ROOT}` : ''} (start-up and loads included): ` +
      `${cliRate.toFixed(1)} ECG/s (${(cli.cpuMs / COUNT).toFixed(1)} ms CPU/ECG, ` +
      `${(cli.cpuMs / COUNT - alone.cpuPerEcg).toFixed(1)} ms/ECG more than the Predictor alone), ratio ${cliRatio.toFixed(2)}`;
  }

  console.log(
    `model ${modelName}: ${COUNT} ECGs, ${concurrency} in flight, maxBatch ${config.model.maxBatch}, ` +
      `ORT threads ${config.model.threads ?? availableParallelism()}, load ${load.toFixed(2)}`,
  );
  console.log(
    `  settings (both sides): fhir.waveform ${config.fhir.waveform} (mean Bundle file ${(meanBytes / 1024).toFixed(0)} KB), ` +
      `validation ${config.fhir.validation}, attribution.when ${config.attribution.when} ` +
      `(${alone.high} of ${COUNT} ECGs with a high stratum, ${alone.mapped} mapped), no drift monitor in run`,
  );
  console.log(
    `  Predictor alone: ${alone.rate.toFixed(1)} ECG/s (${alone.cpuPerEcg.toFixed(1)} ms CPU/ECG, ` +
      `mean batch ${alone.meanBatch.toFixed(1)})`,
  );
  if (runLine) console.log(runLine);
  if (cliLine) console.log(cliLine);
  console.log(`  occlusion map (apart): ${mapsLine}`);
  return { name, ratio, cliRatio };
}

const workDir = await mkdtemp(join(tmpdir(), 'ecgcad-bench-backfill-'));
try {
  const inputDir = join(workDir, 'input');
  await mkdir(inputDir);
  const names = await writeSyntheticDicomFiles(inputDir, COUNT);
  console.log(
    `machine: ${cpus()[0]?.model ?? 'cpu'} x ${availableParallelism()}, node ${process.version}; ` +
      `${COUNT} synthetic 10 s 12-lead DICOM files`,
  );
  const models = values.model === 'both' ? ['full', 'demo'] : [values.model];
  const results: ModelResult[] = [];
  for (const name of models) results.push(await benchModel(name, inputDir, names, workDir));
  for (const { name, ratio, cliRatio } of results) {
    const shown = ratio ?? cliRatio ?? Number.NaN;
    const how = ratio === undefined ? ' (CLI child, start-up included)' : '';
    if (name === 'full') {
      console.log(
        `embedded backfill, full model: ${shown.toFixed(2)} x Predictor alone${how} (target >= ${TARGET}): ` +
          `${shown >= TARGET ? 'met' : 'not met'}`,
      );
    } else console.log(`embedded backfill, ${name} model: ${shown.toFixed(2)} x Predictor alone${how} (no target)`);
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}
