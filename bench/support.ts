/**
 * Shared set-up of the batch benches (bench/score.ts, bench/backfill.ts): the model folder a `--model` flag names,
 * a folder of synthetic 10 s 12-lead DICOM files, and the Predictor alone on already-decoded ECGs, measured with a
 * fixed number in flight, as the commands keep it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import { generateModelFolder, type Predictor } from '@ecgcad/infer';
import { decodeEcg, writeDicomEcg } from '@ecgcad/ingest';

const modelsDir = fileURLToPath(new URL('../models', import.meta.url));

/** The model folder for `demo`, `full` (generated when missing) or a path. */
export async function modelDir(name: string): Promise<string> {
  if (name !== 'demo' && name !== 'full') return resolve(name);
  const outDir = join(modelsDir, name === 'demo' ? 'ecgcad-demo' : 'ecgcad-net1d-full');
  const generated = await generateModelFolder({ config: name, outDir });
  if (generated.written) console.log(`generated ${outDir}`);
  return outDir;
}

/** CPU time of this process so far (all threads: the event loop, ONNX Runtime's and libuv's), ms. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Writes `count` synthetic DICOM files `e00000.dcm`... into `dir`; returns their names, in order. */
export async function writeSyntheticDicomFiles(dir: string, count: number, seed = 70_000): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `e${String(i).padStart(5, '0')}.dcm`;
    await writeFile(join(dir, name), writeDicomEcg(synthesizeEcg({ seed: seed + i, fast: true })));
    names.push(name);
  }
  return names;
}

/** Decodes the files beforehand, as the Predictor-alone phase takes them. */
export async function decodeFiles(dir: string, names: string[]): Promise<Ecg[]> {
  const decoded: Ecg[] = [];
  for (const name of names) decoded.push(decodeEcg(new Uint8Array(await readFile(join(dir, name))), { feed: 'bench' }));
  return decoded;
}

/** What the Predictor alone did on the decoded ECGs. */
export interface PredictorAloneResult {
  rate: number;
  cpuPerEcg: number;
  meanBatch: number;
  /** ECGs with a vessel in the high stratum (the ones `attribution.when: any-high` maps). */
  high: number;
  /** ECGs whose prediction carries an occlusion map. */
  mapped: number;
}

/**
 * The Predictor alone: a warm-up of `concurrency` ECGs (not timed), then every ECG through `predict()` with
 * `concurrency` in flight (a pool of callers, as the commands keep it).
 */
export async function measurePredictorAlone(
  predictor: Predictor,
  decoded: Ecg[],
  concurrency: number,
): Promise<PredictorAloneResult> {
  await Promise.all(decoded.slice(0, concurrency).map((ecg) => predictor.predict(ecg)));
  const batches: number[] = [];
  const onBatch = (event: { size: number }): void => {
    batches.push(event.size);
  };
  predictor.batcher.on('batch', onBatch);
  let next = 0;
  let high = 0;
  let mapped = 0;
  const cpu = cpuMs();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < decoded.length) {
        const prediction = await predictor.predict(decoded[next++] as Ecg);
        if (prediction.status !== 'scored') continue;
        if (prediction.vessels.some((v) => v.stratum === 'high')) high++;
        if (prediction.attribution) mapped++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpuPerEcg = (cpuMs() - cpu) / decoded.length;
  predictor.batcher.off('batch', onBatch);
  const meanBatch = batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length);
  return { rate: decoded.length / seconds, cpuPerEcg, meanBatch, high, mapped };
}
