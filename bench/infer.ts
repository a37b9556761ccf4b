/**
 * Inference throughput: a bare ONNX Runtime session against the infer stage (batcher, Predictor) on the same model.
 *
 *   npx turbo run build && npx tsx bench/infer.ts [--model demo|full|both] [--ep cpu|webgpu] [--fp16]
 *       [--threads N] [--batches 1,8,32] [--seconds S] [--rounds R] [--spin] [--check] [--thread worker|main]
 *       [--instances K] [--models-dir DIR]
 *
 * Per model, in its own child process (so peak RSS is per worker): the bare session's ECG/s at each batch size; the
 * batcher's ECG/s under saturating concurrent load (4 x maxBatch callers submitting prepared inputs) with maxBatch =
 * the bare session's best batch, and its ratio to the bare session (target >= 0.90), once with one session of N
 * threads (the default) and once with K instances of N / K threads each (`model.instances`; `--instances K`,
 * default K = N on the CPU and none on a GPU; 0 or 1 skips it), each in rounds alternating with the bare session;
 * the gain of batching over
 * maxBatch 1; the Predictor's ECG/s on synthetic 500 Hz 12-lead Ecgs (quality gate + prepare() on the JS thread
 * included); the cost of an occlusion-sensitivity map per ECG (attribution 'always', `--attribution-window S`,
 * default 1 s: 12 x 10 extra model rows for a 10 s ECG) against the plain Predictor on the same session, as ms per
 * ECG and as a ratio; the cost of shadow mode (`model.shadow`: a second model scoring every ECG on the same
 * prepared input) as the Predictor's ECG/s with a shadow over without, in alternating rounds; and peak RSS. Model
 * folders are generated under models/ when missing (the full one takes seconds).
 *
 * On a machine with only node (e.g. a GPU box), bundle it and carry onnxruntime-node's linux-x64 files beside it:
 *   node_modules/esbuild/bin/esbuild bench/infer.ts --bundle --platform=node --format=esm --target=node20 \
 *     --external:onnxruntime-node --outfile=out/gpu-bench/bench.mjs \
 *     --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
 *   # + out/gpu-bench/node_modules/onnxruntime-node/{package.json,dist,bin/napi-v6/linux/x64} and onnxruntime-common
 *   node out/gpu-bench/bench.mjs --models-dir /tmp/models --model full --ep webgpu --batches 1,64,256 --check
 */
import { spawn } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import {
  buildStampedNetwork,
  createSession,
  DEMO_SEED,
  DynamicBatcher,
  defaultCalibrationExamples,
  type ExecutionProviderName,
  forwardReference,
  generateModelFolder,
  type LoadedModel,
  loadModelFolder,
  NET1D_CONFIGS,
  Predictor,
  ShadowScorer,
  syntheticModelInput,
} from '@ecgcad/infer';
import * as ort from 'onnxruntime-node';
import { median } from '../test/support/paired.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'both' },
    ep: { type: 'string', default: 'cpu' },
    fp16: { type: 'boolean', default: false },
    threads: { type: 'string' },
    batches: { type: 'string' },
    seconds: { type: 'string', default: '2' },
    'models-dir': { type: 'string' },
    rounds: { type: 'string', default: '3' },
    spin: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    thread: { type: 'string', default: 'worker' },
    instances: { type: 'string' },
    'attribution-window': { type: 'string', default: '1' },
    child: { type: 'boolean', default: false },
  },
});

const ep = values.ep as ExecutionProviderName;
const threads = values.threads ? Number(values.threads) : availableParallelism();
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const spinning = values.spin;
/** Instances for the second stage measurement (0: none). */
const instanceCount = values.instances !== undefined ? Number(values.instances) : ep === 'cpu' ? threads : 0;
const threadsPerInstance = ep === 'cpu' ? Math.max(1, Math.floor(threads / Math.max(1, instanceCount))) : threads;
const modelsDir = values['models-dir'] ?? fileURLToPath(new URL('../models', import.meta.url));
const DEFAULT_BATCHES: Record<string, number[]> = {
  demo: ep === 'cpu' ? [1, 8, 32] : [1, 32, 128, 256],
  full: ep === 'cpu' ? [1, 4, 8] : [1, 32, 128, 256],
};

interface ModelResult {
  model: string;
  provider: string;
  parameters: number;
  gflopPerEcg: number;
  bare: { batch: number; ecgPerS: number }[];
  bestBatch: number;
  bareBest: number;
  stage: number;
  /** Median over rounds of stage / bare measured back to back. */
  roundRatio: number;
  /** The same with `count` instances of `threads` threads each (undefined where not measured). */
  instances?: {
    count: number;
    threads: number;
    stage: number;
    roundRatio: number;
    cpuMs: number;
    meanBatch: number;
    predictor?: number;
  };
  /** Median CPU ms (all threads of the process) per ECG. */
  bareCpuMs: number;
  stageCpuMs: number;
  stageBatch1: number;
  predictor: number;
  /** The Predictor with a map for every ECG: ECGs per second, ms and CPU ms per ECG (two ECGs in flight). */
  attribution: { windowS: number; rows: number; ecgPerS: number; msPerEcg: number; cpuMsPerEcg: number };
  meanBatch: number;
  peakRssMB: number;
  maxRelError: number | undefined;
  /** Predictor ECG/s without and with a shadow model (same weights, other thresholds), medians over rounds. */
  shadow: { plain: number; shadowed: number; roundRatio: number };
}

/** ECG/s over a timed window, and this process's CPU time (all threads) per ECG over the same window. */
interface Rate {
  ecgPerS: number;
  cpuMsPerEcg: number;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Calls `step` (which processes `n` ECGs) until `seconds` have passed (at least `minCalls`). */
async function measure(step: () => Promise<number>, minCalls = 2): Promise<Rate> {
  await step(); // warm-up
  let ecgs = 0;
  let calls = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (calls < minCalls || performance.now() - start < seconds * 1000) {
    ecgs += await step();
    calls++;
  }
  return { ecgPerS: ecgs / ((performance.now() - start) / 1000), cpuMsPerEcg: cpuMsSince(cpu) / ecgs };
}

/** `clients` callers, each submitting work in a loop for `seconds`; returns completions per second. */
async function saturate(clients: number, work: (i: number) => Promise<unknown>): Promise<Rate> {
  let done = 0;
  let stop = false;
  const loop = async (c: number): Promise<void> => {
    for (let i = c; !stop; i += clients) {
      await work(i);
      done++;
    }
  };
  // Warm-up: one round per client.
  await Promise.all(Array.from({ length: clients }, (_, c) => work(c)));
  const start = performance.now();
  const cpu = process.cpuUsage();
  const loops = Array.from({ length: clients }, (_, c) => loop(c));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const countedAt = performance.now();
  const cpuMs = cpuMsSince(cpu);
  const counted = done;
  await Promise.all(loops);
  return { ecgPerS: counted / ((countedAt - start) / 1000), cpuMsPerEcg: cpuMs / counted };
}

async function runModel(config: string): Promise<ModelResult> {
  const folder = join(
    modelsDir,
    `ecgcad-${config === 'demo' ? 'demo' : `net1d-${config}`}${values.fp16 ? '-fp16' : ''}`,
  );
  const generated = await generateModelFolder({ config, outDir: folder, float16: values.fp16 });
  const model = await loadModelFolder(folder);
  const batches = values.batches ? values.batches.split(',').map(Number) : (DEFAULT_BATCHES[config] ?? [1, 8]);
  const inputs = Array.from({ length: 16 }, (_, i) => syntheticModelInput(i + 1, 12, model.card.input.samples));
  const per = model.inputSize;

  // 1. Bare ONNX Runtime session: one run per batch, a prepared tensor, nothing else.
  const bareSession = await ort.InferenceSession.create(model.bytes, {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
    // The same thread settings as createSession(), so the ratio measures the stage, not a configuration difference.
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  });
  const bareRate = async (batch: number): Promise<Rate> => {
    const data = new Float32Array(batch * per);
    for (let b = 0; b < batch; b++) data.set(inputs[b % inputs.length] as Float32Array, b * per);
    const tensor = new ort.Tensor('float32', data, [batch, 12, model.card.input.samples]);
    return measure(async () => {
      await bareSession.run({ [model.card.input.name]: tensor });
      return batch;
    });
  };
  const bare: { batch: number; ecgPerS: number }[] = [];
  for (const batch of batches) {
    const { ecgPerS } = await bareRate(batch);
    bare.push({ batch, ecgPerS });
    process.stderr.write(`  ${config}: bare batch ${batch}: ${ecgPerS.toFixed(1)} ECG/s\n`);
  }
  const best = bare.reduce((a, b) => (b.ecgPerS > a.ecgPerS ? b : a));

  // 2. The infer stage: our session wrapper + dynamic batcher, under saturating concurrent load. Bare and stage are
  // measured in alternating rounds (medians), so drifting load on a shared machine hits both alike.
  const session = await createSession(model, {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    intraOpSpinning: spinning,
    thread: values.thread === 'main' ? 'main' : 'worker',
  });
  let maxRelError: number | undefined;
  if (values.check) {
    // The provider's outputs against the float64 reference of the same weights (2 ECGs).
    const netConfig = NET1D_CONFIGS[config];
    if (!netConfig) throw new Error(`unknown config ${config}`);
    const net = buildStampedNetwork({
      config: netConfig,
      seed: DEMO_SEED,
      calibrationExamples: defaultCalibrationExamples(netConfig),
    });
    const pair = new Float32Array(2 * per);
    pair.set(inputs[0] as Float32Array, 0);
    pair.set(inputs[1] as Float32Array, per);
    const probs = await session.run(pair, 2);
    maxRelError = 0;
    for (let b = 0; b < 2; b++) {
      const ref = forwardReference(net, inputs[b] as Float32Array).probabilities;
      ref.forEach((p, k) => {
        maxRelError = Math.max(maxRelError as number, Math.abs((probs[b * ref.length + k] as number) - p) / p);
      });
    }
    process.stderr.write(`  ${config}: max relative error vs float64 reference: ${maxRelError.toExponential(2)}\n`);
  }
  // Instances of the model (model.instances) that run batches side by side.
  const pool =
    instanceCount > 1
      ? await createSession(model, {
          executionProviders: [ep],
          instances: instanceCount,
          intraOpNumThreads: threadsPerInstance,
          intraOpSpinning: spinning,
        })
      : undefined;
  const sizes: number[] = [];
  const poolSizes: number[] = [];
  const stageRate = async (maxBatch: number, on = session): Promise<Rate> => {
    const batcher = new DynamicBatcher(on, { maxBatch, maxDelayMs: 2, maxQueue: 100_000, timeoutMs: 600_000 });
    batcher.on('batch', (e) => (on === session ? sizes : poolSizes).push(e.size));
    const rate = await saturate(4 * maxBatch, (i) => batcher.submit(inputs[i % inputs.length] as Float32Array));
    await batcher.close();
    return rate;
  };
  const bareRounds: Rate[] = [];
  const stageRounds: Rate[] = [];
  const poolRounds: Rate[] = [];
  for (let r = 0; r < rounds; r++) {
    const b = await bareRate(best.batch);
    const s = await stageRate(best.batch);
    const p = pool ? await stageRate(best.batch, pool) : undefined;
    bareRounds.push(b);
    stageRounds.push(s);
    if (p) poolRounds.push(p);
    process.stderr.write(
      `  ${config}: round ${r + 1}: bare ${b.ecgPerS.toFixed(1)}, stage ${s.ecgPerS.toFixed(1)} ECG/s (ratio ${(s.ecgPerS / b.ecgPerS).toFixed(3)}); ` +
        `CPU ms/ECG bare ${b.cpuMsPerEcg.toFixed(3)}, stage ${s.cpuMsPerEcg.toFixed(3)}` +
        (p
          ? `; ${instanceCount} instances ${p.ecgPerS.toFixed(1)} ECG/s (ratio ${(p.ecgPerS / b.ecgPerS).toFixed(3)}), CPU ${p.cpuMsPerEcg.toFixed(3)}`
          : '') +
        '\n',
    );
  }
  await bareSession.release();
  const bareBest = median(bareRounds.map((r) => r.ecgPerS));
  const stage = median(stageRounds.map((r) => r.ecgPerS));
  // Rounds alternate, so a round's ratio compares bare and stage under the same outside load.
  const roundRatio = median(stageRounds.map((s, i) => s.ecgPerS / (bareRounds[i] as Rate).ecgPerS));
  const bareCpuMs = median(bareRounds.map((r) => r.cpuMsPerEcg));
  const stageCpuMs = median(stageRounds.map((r) => r.cpuMsPerEcg));
  const meanBatch = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
  const instances =
    poolRounds.length > 0
      ? {
          count: instanceCount,
          threads: threadsPerInstance,
          stage: median(poolRounds.map((r) => r.ecgPerS)),
          roundRatio: median(poolRounds.map((p, i) => p.ecgPerS / (bareRounds[i] as Rate).ecgPerS)),
          cpuMs: median(poolRounds.map((r) => r.cpuMsPerEcg)),
          meanBatch: poolSizes.reduce((a, b) => a + b, 0) / Math.max(1, poolSizes.length),
        }
      : undefined;
  const stageBatch1 = (await stageRate(1)).ecgPerS;
  process.stderr.write(`  ${config}: stage (maxBatch 1): ${stageBatch1.toFixed(1)} ECG/s\n`);

  // 3. The Predictor: quality gate + prepare() into the batch tensor + batcher + strata.
  const ecgs: Ecg[] = Array.from({ length: 16 }, (_, i) => synthesizeEcg({ seed: 100 + i, fast: true }));
  const predictor = new Predictor(session, {
    batching: { maxBatch: best.batch, maxDelayMs: 2, maxQueue: 100_000, timeoutMs: 600_000 },
  });
  const { ecgPerS: predictorRate } = await saturate(4 * best.batch, (i) =>
    predictor.predict(ecgs[i % ecgs.length] as Ecg),
  );
  // Its batcher only: the session serves the attribution Predictor next.
  await predictor.batcher.close();
  process.stderr.write(`  ${config}: predictor: ${predictorRate.toFixed(1)} ECG/s\n`);
  // 4. The same Predictor with an occlusion map for every ECG ('always'): two ECGs in flight, each sending its
  // occluded copies a batch at a time, for at least `seconds` and two ECGs (a full-size map takes seconds).
  const windowS = Number(values['attribution-window']);
  const attributing = new Predictor(session, {
    batching: { maxBatch: best.batch, maxDelayMs: 2, maxQueue: 100_000, timeoutMs: 600_000 },
    attribution: { when: 'always', windowS },
  });
  const rows = 12 * Math.ceil(model.card.input.samples / Math.round(windowS * model.card.input.sampleRateHz));
  await attributing.predict(ecgs[0] as Ecg);
  let mapped = 0;
  const mapStart = performance.now();
  const mapCpu = process.cpuUsage();
  while (mapped < 2 || performance.now() - mapStart < seconds * 1000) {
    await Promise.all([0, 1].map((k) => attributing.predict(ecgs[(mapped + k) % ecgs.length] as Ecg)));
    mapped += 2;
  }
  const mapMs = performance.now() - mapStart;
  const attribution = {
    windowS,
    rows,
    ecgPerS: mapped / (mapMs / 1000),
    msPerEcg: mapMs / mapped,
    cpuMsPerEcg: cpuMsSince(mapCpu) / mapped,
  };
  await attributing.close();
  process.stderr.write(
    `  ${config}: predictor with attribution: ${attribution.ecgPerS.toFixed(2)} ECG/s, ${attribution.msPerEcg.toFixed(1)} ms/ECG\n`,
  );
  // The same on the instances (closing the Predictor releases them).
  let poolPredictorRate: number | undefined;
  if (pool) {
    const onPool = new Predictor(pool, {
      batching: { maxBatch: best.batch, maxDelayMs: 2, maxQueue: 100_000, timeoutMs: 600_000 },
    });
    poolPredictorRate = (
      await saturate((instanceCount + 1) * 2 * best.batch, (i) => onPool.predict(ecgs[i % ecgs.length] as Ecg))
    ).ecgPerS;
    await onPool.close();
    process.stderr.write(
      `  ${config}: predictor on ${instanceCount} instances: ${poolPredictorRate.toFixed(1)} ECG/s\n`,
    );
  }

  // 4. Shadow mode: the same Predictor load with and without a shadow model (the same graph under another card
  // version, as `ecgcad calibrate` writes one), in alternating rounds. The shadow has its own session.
  const sessionOptions = { executionProviders: [ep], intraOpNumThreads: threads, intraOpSpinning: spinning };
  const shadowModel: LoadedModel = {
    ...model,
    card: { ...model.card, version: `${model.card.version}-shadow` },
    ref: { ...model.ref, version: `${model.ref.version}-shadow` },
  };
  const batching = { maxBatch: best.batch, maxDelayMs: 2, maxQueue: 100_000, timeoutMs: 600_000 };
  const livePredictor = new Predictor(await createSession(model, sessionOptions), { batching });
  const scorer = new ShadowScorer({
    live: livePredictor,
    shadow: new Predictor(await createSession(shadowModel, sessionOptions), { batching }),
    onScored: () => {},
  });
  const plainRounds: number[] = [];
  const shadowRounds: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const plain = (await saturate(4 * best.batch, (i) => livePredictor.predict(ecgs[i % ecgs.length] as Ecg))).ecgPerS;
    const shadowed = (
      await saturate(4 * best.batch, async (i) => {
        const result = await scorer.predict(ecgs[i % ecgs.length] as Ecg);
        await result.settle(true);
      })
    ).ecgPerS;
    plainRounds.push(plain);
    shadowRounds.push(shadowed);
    process.stderr.write(
      `  ${config}: shadow round ${r + 1}: without ${plain.toFixed(1)}, with shadow ${shadowed.toFixed(1)} ECG/s (ratio ${(shadowed / plain).toFixed(3)})\n`,
    );
  }
  await scorer.close();
  await livePredictor.close();
  const shadow = {
    plain: median(plainRounds),
    shadowed: median(shadowRounds),
    roundRatio: median(shadowRounds.map((x, i) => x / (plainRounds[i] as number))),
  };

  return {
    model: `${model.ref.id} ${model.ref.version}`,
    shadow,
    provider: session.provider,
    parameters: generated.parameters,
    gflopPerEcg: generated.flopsPerEcg / 1e9,
    bare,
    bestBatch: best.batch,
    bareBest,
    stage,
    roundRatio,
    ...(instances
      ? { instances: { ...instances, ...(poolPredictorRate ? { predictor: poolPredictorRate } : {}) } }
      : {}),
    bareCpuMs,
    stageCpuMs,
    stageBatch1,
    predictor: predictorRate,
    attribution,
    meanBatch,
    maxRelError,
    peakRssMB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20,
  };
}

function runChild(config: string): Promise<ModelResult> {
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
    '--child',
    '--model',
    config,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ModelResult);
      else reject(new Error(`bench child for ${config} exited with ${code}: ${out.slice(-500)}`));
    });
  });
}

const fmt = (x: number, digits = 1) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

if (values.child) {
  const result = await runModel(values.model);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const models = values.model === 'both' ? ['demo', 'full'] : [values.model];
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, node ${process.version}, ` +
      `onnxruntime-node ${ort.env.versions.node ?? '?'}`,
  );
  console.log(
    `execution provider ${ep}${values.fp16 ? ' (float16 model)' : ''}, intraOpNumThreads ${threads}` +
      `${spinning ? ' (spinning)' : ''}, stage session on the ${values.thread} thread, ${seconds} s per measurement, load average ${loadavg()[0]?.toFixed(1)}`,
  );
  for (const config of models) {
    const r = await runChild(config);
    console.log('');
    console.log(
      `${r.model} (${fmt(r.parameters / 1e6, 2)} M parameters, ${fmt(r.gflopPerEcg, 3)} GFLOP/ECG) on ${r.provider}`,
    );
    console.log(`  bare session ECG/s by batch: ${r.bare.map((b) => `${b.batch}: ${fmt(b.ecgPerS)}`).join(', ')}`);
    console.log(`  bare session, best batch ${r.bestBatch}: ${fmt(r.bareBest)} ECG/s (median of ${rounds} rounds)`);
    console.log(
      `  infer stage (batcher, maxBatch ${r.bestBatch}, ${4 * r.bestBatch} callers): ${fmt(r.stage)} ECG/s, ` +
        `mean batch ${fmt(r.meanBatch)}; ratio to bare ${fmt(r.stage / r.bareBest, 3)} (target >= 0.90), ` +
        `median of the per-round ratios ${fmt(r.roundRatio, 3)}`,
    );
    console.log(
      `  CPU per ECG (all threads): bare ${fmt(r.bareCpuMs, 3)} ms, stage ${fmt(r.stageCpuMs, 3)} ms; ` +
        `bare / stage ${fmt(r.bareCpuMs / r.stageCpuMs, 3)}`,
    );
    if (r.instances) {
      const i = r.instances;
      console.log(
        `  infer stage with ${i.count} instances of ${i.threads} thread${i.threads === 1 ? '' : 's'} (model.instances ${i.count}): ${fmt(i.stage)} ECG/s, ` +
          `mean batch ${fmt(i.meanBatch)}; ratio to bare ${fmt(i.stage / r.bareBest, 3)} (target >= 0.90), ` +
          `median of the per-round ratios ${fmt(i.roundRatio, 3)}; CPU per ECG ${fmt(i.cpuMs, 3)} ms`,
      );
    }
    const verdict = (ratio: number) => `${fmt(ratio, 3)} ${ratio >= 0.9 ? 'met' : 'NOT met'}`;
    console.log(
      `  target stage >= 0.90 x bare (median ECG/s): one session ${verdict(r.stage / r.bareBest)}` +
        (r.instances ? `; ${r.instances.count} instances ${verdict(r.instances.stage / r.bareBest)}` : ''),
    );
    console.log(
      `  batching gain: stage maxBatch ${r.bestBatch} / maxBatch 1 = ${fmt(r.stage / r.stageBatch1, 2)}x ` +
        `(bare best / bare batch 1 = ${fmt(r.bareBest / (r.bare.find((b) => b.batch === 1)?.ecgPerS ?? Number.NaN), 2)}x)`,
    );
    console.log(
      `  Predictor (quality gate + prepare + batcher): ${fmt(r.predictor)} ECG/s; ratio to bare ${fmt(r.predictor / r.bareBest, 3)}` +
        (r.instances?.predictor
          ? `; on ${r.instances.count} instances ${fmt(r.instances.predictor)} ECG/s (prepare() runs on the one JS thread)`
          : ''),
    );
    const a = r.attribution;
    console.log(
      `  attribution (occlusion map for every ECG, ${fmt(a.windowS, 2)} s windows = ${a.rows} extra model rows): ` +
        `${fmt(a.msPerEcg, 1)} ms per ECG (CPU ${fmt(a.cpuMsPerEcg, 1)} ms), ${fmt(a.ecgPerS, 2)} ECG/s; ` +
        `${fmt(a.msPerEcg / (1000 / r.predictor), 1)}x the plain Predictor's ${fmt(1000 / r.predictor, 2)} ms per ECG ` +
        `(only ECGs attribution.when selects pay it)`,
    );
    console.log(
      `  shadow mode (second model on the same prepared input): ${fmt(r.shadow.shadowed)} ECG/s vs ${fmt(r.shadow.plain)} without; ` +
        `ratio ${fmt(r.shadow.shadowed / r.shadow.plain, 3)} (median of the per-round ratios ${fmt(r.shadow.roundRatio, 3)})`,
    );
    if (r.maxRelError !== undefined) {
      console.log(`  outputs vs float64 reference (2 ECGs): max relative error ${r.maxRelError.toExponential(2)}`);
    }
    console.log(`  peak RSS of the worker process: ${fmt(r.peakRssMB, 0)} MB`);
  }
}
