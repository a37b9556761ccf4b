import {
  type Ecg,
  type EcgAttribution,
  type ModelInputSpec,
  type Prediction,
  prepare,
  preparedSpan,
  STANDARD_LEADS,
  synthesizeEcg,
  VESSELS,
} from '@ecgcad/ecg';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  leadBaselines,
  MapSlots,
  occludedWriter,
  occlusionAttribution,
  occlusionWindows,
  wantsAttribution,
} from './attribution.js';
import { parseModelCard } from './card.js';
import { buildModelInMemory } from './demo/in-memory.js';
import { checkModel, type LoadedModel, sha256Hex } from './model-folder.js';
import { encodeOnnxModel, float32ValueInfo, intAttr, intsAttr } from './onnx-build.js';
import { Predictor, type PredictorOptions } from './predictor.js';
import { createSession } from './session.js';

const { onnx } = onnxProto;
const RATE = 500;
const V2 = STANDARD_LEADS.indexOf('V2');
/** Per vessel (RCA, LM, LAD, LCx): the readout's weight on V2's mean over 2-3 s. LM reads nothing. */
const WEIGHTS = [4, 0, -4, 1];

function spec(layout: 'NCL' | 'NLC'): ModelInputSpec {
  // No filter, no normalisation: the input is the record in mV, so the test can compute what the model sees.
  return {
    name: 'ecg',
    leads: [...STANDARD_LEADS],
    sampleRateHz: RATE,
    samples: 10 * RATE,
    units: 'mV',
    layout,
    normalize: 'none',
  };
}

/**
 * A model whose every output reads only lead V2 between 2.0 and 3.0 s: sigmoid(w_k * mean(V2[2 s, 3 s))).
 * Slice -> Flatten -> ReduceMean -> Gemm -> Sigmoid.
 */
function v2WindowModel(layout: 'NCL' | 'NLC'): LoadedModel {
  const int64 = (name: string, values: number[]) =>
    onnx.TensorProto.create({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer),
    });
  const float = (name: string, dims: number[], values: number[]) =>
    onnx.TensorProto.create({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(Float32Array.from(values).buffer),
    });
  const [from, to] = [2 * RATE, 3 * RATE];
  const nlc = layout === 'NLC';
  const graph = onnx.GraphProto.create({
    name: 'v2-window',
    node: [
      onnx.NodeProto.create({ opType: 'Slice', input: ['ecg', 'starts', 'ends', 'axes'], output: ['region'] }),
      onnx.NodeProto.create({
        opType: 'Flatten',
        input: ['region'],
        output: ['flat'],
        attribute: [intAttr('axis', 1)],
      }),
      onnx.NodeProto.create({
        opType: 'ReduceMean',
        input: ['flat'],
        output: ['mean'],
        attribute: [intsAttr('axes', [1]), intAttr('keepdims', 1)],
      }),
      onnx.NodeProto.create({ opType: 'Gemm', input: ['mean', 'w', 'b'], output: ['logits'] }),
      onnx.NodeProto.create({ opType: 'Sigmoid', input: ['logits'], output: ['prob'] }),
    ],
    initializer: [
      int64('starts', nlc ? [from, V2] : [V2, from]),
      int64('ends', nlc ? [to, V2 + 1] : [V2 + 1, to]),
      int64('axes', [1, 2]),
      float('w', [1, 4], WEIGHTS),
      float('b', [4], [0, 0, 0, 0]),
    ],
    input: [float32ValueInfo('ecg', nlc ? ['N', 10 * RATE, 12] : ['N', 12, 10 * RATE])],
    output: [float32ValueInfo('prob', ['N', 4])],
  });
  const bytes = encodeOnnxModel(graph);
  const high = { ruleOut: 0.1, ruleIn: 0.9 };
  const card = parseModelCard({
    id: 'v2-window',
    version: '1.0.0',
    clinicalUse: false,
    intendedUse: 'attribution tests',
    outcome: 'none',
    input: spec(layout),
    outputs: { name: 'prob', vessels: [...VESSELS] },
    thresholds: { RCA: high, LM: high, LAD: high, LCx: high },
    sha256: sha256Hex(bytes),
  });
  return checkModel('(in memory)', card, bytes);
}

/** A synthetic ECG with V2 raised by `bumpUv` between 2.0 and 3.0 s. */
function ecgWithV2Bump(options: { seed: number; bumpUv: number; durationS?: number; sampleRateHz?: number }): Ecg {
  const ecg = synthesizeEcg({
    seed: options.seed,
    durationS: options.durationS ?? 10,
    sampleRateHz: options.sampleRateHz ?? RATE,
  });
  const v2 = ecg.leads.V2 as Float32Array;
  const rate = ecg.sampleRateHz;
  for (let t = 2 * rate; t < 3 * rate; t++) v2[t] = (v2[t] as number) + options.bumpUv;
  return ecg;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const predictors: Predictor[] = [];
async function predictorFor(model: LoadedModel, options: PredictorOptions): Promise<Predictor> {
  const session = await createSession(model, { intraOpNumThreads: 1, thread: 'main' });
  const predictor = new Predictor(session, options);
  predictors.push(predictor);
  return predictor;
}
afterAll(async () => {
  await Promise.all(predictors.map((p) => p.close()));
});

function scored(p: Prediction): Extract<Prediction, { status: 'scored' }> {
  if (p.status !== 'scored') throw new Error(`expected a scored prediction, got ${p.status}`);
  return p;
}

/** The cells of a map whose magnitude exceeds `eps`, as `lead@window`. */
function nonZeroCells(map: number[][], leads: readonly string[], eps = 1e-6): string[] {
  return map.flatMap((row, l) => row.flatMap((d, w) => (Math.abs(d) > eps ? [`${leads[l]}@${w}`] : [])));
}

describe('occlusion attribution through the Predictor', () => {
  for (const layout of ['NCL', 'NLC'] as const) {
    it(`${layout}: a model that reads V2 over 2-3 s gets a map that is zero except V2 x window 2, with its sign and size`, async () => {
      const model = v2WindowModel(layout);
      const predictor = await predictorFor(model, { attribution: { when: 'any-high', windowS: 1 } });
      const ecg = ecgWithV2Bump({ seed: 11, bumpUv: 800 });
      const prediction = scored(await predictor.predict(ecg));
      expect(prediction.vessels.find((v) => v.vessel === 'RCA')?.stratum).toBe('high');
      const attribution = prediction.attribution as EcgAttribution;
      expect(attribution).toMatchObject({ method: 'occlusion', windowS: 1, startS: 0, leads: [...STANDARD_LEADS] });

      // What the model sees: V2's mean over the region, and the baseline (V2's median) that replaces it.
      const input = prepare(ecg, model.card.input);
      const v2 = Array.from({ length: 10 * RATE }, (_, t) =>
        layout === 'NCL' ? (input[V2 * 10 * RATE + t] as number) : (input[t * 12 + V2] as number),
      );
      const mean = v2.slice(2 * RATE, 3 * RATE).reduce((a, b) => a + b, 0) / RATE;
      const baseline = median(v2);
      expect(mean - baseline).toBeGreaterThan(0.5);

      VESSELS.forEach((vessel, k) => {
        const map = attribution.vessels[vessel] as number[][];
        expect(map).toHaveLength(12);
        for (const row of map) expect(row).toHaveLength(10);
        const w = WEIGHTS[k] as number;
        const expected = sigmoid(w * mean) - sigmoid(w * baseline);
        if (w === 0) {
          expect(nonZeroCells(map, STANDARD_LEADS)).toEqual([]);
          return;
        }
        expect(nonZeroCells(map, STANDARD_LEADS)).toEqual(['V2@2']);
        expect(map[V2]?.[2]).toBeCloseTo(expected, 4);
        // Positive weight: the raised V2 raised the risk; negative weight: it lowered it.
        expect(Math.sign(map[V2]?.[2] as number)).toBe(Math.sign(w));
      });
    });
  }

  it('half-second windows split the region in two; the windows are aligned to the model input', async () => {
    const predictor = await predictorFor(v2WindowModel('NCL'), { attribution: { when: 'always', windowS: 0.5 } });
    const attribution = scored(await predictor.predict(ecgWithV2Bump({ seed: 12, bumpUv: 800 })))
      .attribution as EcgAttribution;
    expect(attribution.windowS).toBe(0.5);
    expect(attribution.vessels.RCA?.[0]).toHaveLength(20);
    expect(nonZeroCells(attribution.vessels.RCA as number[][], STANDARD_LEADS)).toEqual(['V2@4', 'V2@5']);
    expect(attribution.vessels.RCA?.[V2]?.[4]).toBeGreaterThan(0);
    expect(attribution.vessels.LAD?.[V2]?.[5]).toBeLessThan(0);
  });

  it('maps window time to the source ECG: a longer record is cropped from its start, a shorter one has no windows in the padding', async () => {
    const predictor = await predictorFor(v2WindowModel('NCL'), { attribution: { when: 'always', windowS: 1 } });
    // 12 s at 1000 Hz: prepare() keeps the first 10 s, so the bump at 2-3 s of the source is still window 2.
    const long = ecgWithV2Bump({ seed: 13, bumpUv: 800, durationS: 12, sampleRateHz: 1000 });
    expect(preparedSpan(long, spec('NCL'))).toEqual({ startS: 0, keptSamples: 5000 });
    const fromLong = scored(await predictor.predict(long)).attribution as EcgAttribution;
    expect(fromLong.startS).toBe(0);
    expect(fromLong.vessels.RCA?.[0]).toHaveLength(10);
    expect(nonZeroCells(fromLong.vessels.RCA as number[][], STANDARD_LEADS)).toEqual(['V2@2']);
    // 8.4 s: 4200 real samples then padding: 9 windows, the last one 0.4 s long.
    const short = ecgWithV2Bump({ seed: 14, bumpUv: 800, durationS: 8.4 });
    const fromShort = scored(await predictor.predict(short)).attribution as EcgAttribution;
    expect(fromShort.vessels.LAD?.[0]).toHaveLength(9);
    expect(nonZeroCells(fromShort.vessels.LAD as number[][], STANDARD_LEADS)).toEqual(['V2@2']);
  });

  it('selects ECGs by their strata: any-high (only ECGs with a high vessel), always, never', async () => {
    const model = v2WindowModel('NCL');
    const plain = ecgWithV2Bump({ seed: 15, bumpUv: 0 });
    const raised = ecgWithV2Bump({ seed: 15, bumpUv: 800 });
    const anyHigh = await predictorFor(model, { attribution: { when: 'any-high' } });
    const always = await predictorFor(model, { attribution: { when: 'always' } });
    const never = await predictorFor(model, { attribution: { when: 'never' } });
    const unset = await predictorFor(model, {});
    const plainScored = scored(await anyHigh.predict(plain));
    expect(plainScored.vessels.some((v) => v.stratum === 'high')).toBe(false);
    expect(plainScored).not.toHaveProperty('attribution');
    expect(scored(await anyHigh.predict(raised)).attribution).toBeDefined();
    expect(scored(await always.predict(plain)).attribution).toBeDefined();
    expect(scored(await never.predict(raised))).not.toHaveProperty('attribution');
    expect(scored(await unset.predict(raised))).not.toHaveProperty('attribution');
    expect(wantsAttribution('any-high', [{ stratum: 'intermediate' }, { stratum: 'high' }])).toBe(true);
    expect(wantsAttribution('any-high', [{ stratum: 'intermediate' }, { stratum: 'low' }])).toBe(false);
  });

  it('keeps maps from filling the batcher queue: ECGs mapped at once never get a queue-full refusal', async () => {
    // maxQueue 4 in batches of 4: one map at a time. Five maps at once would queue 20 copies and be refused.
    const predictor = await predictorFor(v2WindowModel('NCL'), {
      batching: { maxBatch: 4, maxQueue: 4, maxDelayMs: 1 },
      attribution: { when: 'always', windowS: 2 },
    });
    const results = await Promise.all(
      [31, 32, 33, 34, 35].map((seed) => predictor.predict(ecgWithV2Bump({ seed, bumpUv: 800 }))),
    );
    for (const r of results)
      expect(nonZeroCells(scored(r).attribution?.vessels.RCA as number[][], STANDARD_LEADS)).toEqual(['V2@1']);
  });

  it('runs at most `size` maps at once (MapSlots)', async () => {
    const slots = MapSlots.forBatcher({ maxQueue: 1024, maxBatch: 16 });
    expect(slots.size).toBe(32);
    const two = new MapSlots(2);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        two.run(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 2));
          running--;
        }),
      ),
    );
    expect(most).toBe(2);
    await expect(two.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    // A failed map gives its slot back.
    expect(await two.run(async () => 'next')).toBe('next');
  });

  it('gives the same map with batches of 1 and of 32, for the demo Net1D model, with ECGs scored side by side', async () => {
    const { model } = buildModelInMemory();
    const options = (maxBatch: number): PredictorOptions => ({
      batching: { maxBatch, maxDelayMs: 1 },
      attribution: { when: 'always', windowS: 2 },
    });
    const one = await predictorFor(model, options(1));
    const many = await predictorFor(model, options(32));
    const ecgs = [synthesizeEcg({ seed: 21 }), synthesizeEcg({ seed: 22, heartRateBpm: 90 })];
    const seen = new Set<number>();
    many.batcher.on('batch', (e) => seen.add(e.size));
    const a = await Promise.all(ecgs.map((e) => one.predict(e)));
    const b = await Promise.all(ecgs.map((e) => many.predict(e)));
    // The map's copies of both ECGs shared batches of more than one.
    expect(Math.max(...seen)).toBeGreaterThan(1);
    a.forEach((p, i) => {
      const x = scored(p).attribution as EcgAttribution;
      const y = scored(b[i] as Prediction).attribution as EcgAttribution;
      expect(x.vessels.LAD?.[0]).toHaveLength(5);
      for (const vessel of VESSELS) {
        const mx = (x.vessels[vessel] as number[][]).flat();
        const my = (y.vessels[vessel] as number[][]).flat();
        const worst = Math.max(...mx.map((d, j) => Math.abs(d - (my[j] as number))));
        expect(worst).toBeLessThan(2e-6);
        // A real network is sensitive to some regions: the map is not all zeros.
        expect(mx.some((d) => Math.abs(d) > 1e-5)).toBe(true);
      }
    });
  });
});

describe('occlusion building blocks', () => {
  it('windows cover the real samples only; a window under one sample is refused', () => {
    const s = spec('NCL');
    expect(occlusionWindows(s, 5000, 1)).toEqual({ windowSamples: 500, count: 10, keptSamples: 5000 });
    expect(occlusionWindows(s, 4200, 1)).toEqual({ windowSamples: 500, count: 9, keptSamples: 4200 });
    expect(occlusionWindows(s, 5000, 0.75)).toEqual({ windowSamples: 375, count: 14, keptSamples: 5000 });
    expect(() => occlusionWindows(s, 5000, 0.0001)).toThrow(RangeError);
  });

  it('baselines are per-lead medians of the real samples; the writer replaces exactly one lead x window', () => {
    const s: ModelInputSpec = { ...spec('NLC'), leads: ['I', 'II'], samples: 6 };
    // NLC: [t][lead]; lead I = 1..4 then padding, lead II = 10, 30, 20, 40.
    const input = Float32Array.from([1, 10, 2, 30, 3, 20, 4, 40, 0, 0, 0, 0]);
    expect(Array.from(leadBaselines(input, s, 4))).toEqual([2.5, 25]);
    const windows = { windowSamples: 3, count: 2, keptSamples: 4 };
    const batch = new Float32Array(2 + 12);
    occludedWriter(input, s, windows, Float32Array.from([2.5, 25]), 1, 1)(batch, 2);
    // Lead II, window 1 = sample 3 only (sample 4 on is padding).
    expect(Array.from(batch.subarray(2))).toEqual([1, 10, 2, 30, 3, 20, 4, 25, 0, 0, 0, 0]);
  });

  it('sends at most `chunk` copies at a time', async () => {
    const s: ModelInputSpec = { ...spec('NCL'), leads: ['I', 'II', 'V1'], samples: 10 };
    let inFlight = 0;
    let most = 0;
    const result = await occlusionAttribution({
      input: new Float32Array(30).fill(1),
      spec: s,
      span: { startS: 0, keptSamples: 10 },
      vessels: ['LAD'],
      probabilities: [0.5],
      chunk: 4,
      windowS: 2 / RATE,
      submit: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        return Float32Array.of(0.25);
      },
    });
    expect(most).toBe(4);
    expect(result.vessels.LAD).toEqual([Array(5).fill(0.25), Array(5).fill(0.25), Array(5).fill(0.25)]);
    expect(result.windowS).toBe(2 / RATE);
  });
});
