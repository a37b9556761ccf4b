/**
 * Batch scoring: `ecgcad score` over N synthetic 10 s 12-lead DICOM files against the infer stage alone (the
 * Predictor on the same ECGs, already decoded, same model, same batching, same number in flight), in one run.
 * Prints ECG/s of each, the ratio score / infer alone (target >= 0.80) with a verdict line, and the CPU time per ECG
 * of each phase (all threads of this process), so the engine's own cost per ECG around the model shows.
 *
 *   npx turbo run build && npx tsx bench/score.ts [--count 2000] [--model full|demo|DIR] [--threads N]
 *     [--concurrency N]
 *
 * `--model full` (the default) is the full-size Net1D (models/ecgcad-net1d-full, generated when missing, as
 * `npm run model:full -w @ecgcad/infer` does); `demo` the generated demo model. The score phase is the whole
 * command as an operator runs it: reading the manifest and files, decoding, the quality gate, inference, appending
 * the scores CSV. It runs twice: as a whole command (loading the model included: that ratio is printed too) and,
 * like for like with the infer phase, with the model loaded and warmed up beforehand (the verdict's ratio).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { readScores } from '@ecgcad/clinical';
import { loadConfig, predictorFromConfig } from '@ecgcad/engine';
import type { Predictor } from '@ecgcad/infer';
import { scoreCommand } from '../packages/engine/src/commands/score.js';
import { cpuMs, decodeFiles, measurePredictorAlone, modelDir, writeSyntheticDicomFiles } from './support.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    model: { type: 'string', default: 'full' },
    threads: { type: 'string' },
    concurrency: { type: 'string' },
  },
});
const COUNT = Number(values.count);
const THREADS = values.threads ? Number(values.threads) : undefined;
const MODEL_DIR = await modelDir(values.model);
const config = loadConfig({
  env: {},
  overrides: [
    { path: ['model', 'dir'], value: MODEL_DIR },
    { path: ['model', 'threads'], value: THREADS },
    // `score` computes no occlusion maps (scores files hold probabilities only): nor does the infer phase here.
    { path: ['attribution', 'when'], value: 'never' },
  ],
});
const CONCURRENCY = values.concurrency ? Number(values.concurrency) : 2 * config.model.maxBatch;

const dir = await mkdtemp(join(tmpdir(), 'ecgcad-bench-score-'));
try {
  // Inputs: synthetic DICOM files and a manifest listing them (not timed).
  const names = await writeSyntheticDicomFiles(dir, COUNT);
  await writeFile(join(dir, 'manifest.csv'), `path\n${names.join('\n')}\n`);

  // 1. The infer stage alone: the same files decoded beforehand, through the Predictor, CONCURRENCY in flight.
  let decoded = await decodeFiles(dir, names);
  const loadStart = performance.now();
  const predictor = await predictorFromConfig(config);
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const alone = await measurePredictorAlone(predictor, decoded, CONCURRENCY);
  await predictor.close();
  const decodedWarmUp = decoded.slice(0, CONCURRENCY);
  decoded = [];
  const inferRate = alone.rate;
  const inferCpuPerEcg = alone.cpuPerEcg;

  // 2. `ecgcad score` over the manifest: the whole command (model load included), then, like for like with the
  // infer phase, with the model loaded and warmed up beforehand.
  const runScore = async (out: string, predictor?: Predictor): Promise<{ rate: number; cpuPerEcg: number }> => {
    const cpu = cpuMs();
    const start = performance.now();
    const summary = await scoreCommand(
      { manifest: join(dir, 'manifest.csv'), out, model: MODEL_DIR, concurrency: CONCURRENCY, progress: false },
      new Writable({ write: (_c, _e, done) => done() }),
      undefined,
      predictor,
    );
    const seconds = (performance.now() - start) / 1000;
    const cpuPerEcg = (cpuMs() - cpu) / COUNT;
    const rows = readScores(await readFile(out, 'utf8'));
    if (summary.scored !== COUNT || rows.length !== COUNT) {
      throw new Error(`score wrote ${rows.length} rows, ${summary.scored} scored, of ${COUNT}`);
    }
    return { rate: COUNT / seconds, cpuPerEcg };
  };
  const load = loadavg()[0] ?? Number.NaN;
  const whole = await runScore(join(dir, 'scores-whole.csv'));
  const warm = await predictorFromConfig(config);
  await Promise.all(decodedWarmUp.map((ecg) => warm.predict(ecg)));
  const scored = await runScore(join(dir, 'scores.csv'), warm);
  await warm.close();
  const scoreRate = scored.rate;
  const scoreCpuPerEcg = scored.cpuPerEcg;

  const ratio = scoreRate / inferRate;
  const mean = alone.meanBatch;
  console.log(
    `machine: ${cpus()[0]?.model ?? 'cpu'} x ${availableParallelism()}, load ${load.toFixed(2)}; model ${MODEL_DIR}; ` +
      `${COUNT} ECGs, ${CONCURRENCY} in flight, maxBatch ${config.model.maxBatch}, threads ${config.model.threads ?? 'default'}`,
  );
  console.log(`model load: ${loadSeconds.toFixed(2)} s (inside the whole-command run only)`);
  console.log(
    `infer stage alone: ${inferRate.toFixed(1)} ECG/s (${inferCpuPerEcg.toFixed(1)} ms CPU/ECG, mean batch ${mean.toFixed(1)})`,
  );
  console.log(
    `ecgcad score, whole command: ${whole.rate.toFixed(1)} ECG/s (${whole.cpuPerEcg.toFixed(1)} ms CPU/ECG), ` +
      `ratio ${(whole.rate / inferRate).toFixed(2)}`,
  );
  console.log(
    `ecgcad score, model loaded:  ${scoreRate.toFixed(1)} ECG/s (${scoreCpuPerEcg.toFixed(1)} ms CPU/ECG; ` +
      `${(scoreCpuPerEcg - inferCpuPerEcg).toFixed(1)} ms/ECG more than the infer stage: read, decode, CSV)`,
  );
  console.log(`ratio score / infer alone: ${ratio.toFixed(2)} (target >= 0.80): ${ratio >= 0.8 ? 'met' : 'NOT met'}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
