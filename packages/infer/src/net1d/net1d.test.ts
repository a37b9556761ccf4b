import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildModelInMemory } from '../demo/in-memory.js';
import { DEMO_CONFIG, FULL_CONFIG } from './config.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import { buildNet1d, countFlops, countParameters, samePads } from './network.js';
import { exportNet1dOnnx } from './onnx-export.js';
import { forwardReference } from './reference.js';
import { randomModelInput, syntheticModelInput } from './synthetic.js';

const INPUT = DEMO_CONFIG.inChannels * DEMO_CONFIG.samples;

async function runOrt(bytes: Uint8Array, inputs: Float32Array[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  const batch = new Float32Array(inputs.length * INPUT);
  inputs.forEach((x, i) => {
    batch.set(x, i * INPUT);
  });
  const out = await session.run({ ecg: new ort.Tensor('float32', batch, [inputs.length, 12, 5000]) });
  await session.release();
  return out.prob?.data as Float32Array;
}

/**
 * Norm-wise relative error ||actual - expected|| / ||expected||. Element-wise relative error is ill-conditioned
 * for probabilities near 0 (a float32 logit error of 1e-6 x |logit| shows up amplified there), so fresh random
 * weights made the element-wise check flaky; the norm is the usual measure for float32 against float64.
 */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    diff += ((actual[i] as number) - e) ** 2;
    norm += e * e;
  }
  return Math.sqrt(diff / norm);
}

describe('Net1D builder, exporter and float64 reference', () => {
  it('pads like ECGFounder MyConv1dPadSame, including odd lengths', () => {
    expect(samePads(5000, 16, 2)).toEqual([7, 7, 2500]);
    expect(samePads(625, 16, 2)).toEqual([7, 8, 313]);
    expect(samePads(313, 16, 1)).toEqual([7, 8, 313]);
  });

  it('sizes the full configuration like ECGFounder (about 30.6 M parameters, 2.34 GFLOP per ECG)', () => {
    const full = buildNet1d(FULL_CONFIG, { seed: 1 });
    expect(countParameters(full)).toBeGreaterThan(30.4e6);
    expect(countParameters(full)).toBeLessThan(30.8e6);
    expect(countFlops(full) / 1e9).toBeCloseTo(2.337, 2);
    expect(full.blocks).toHaveLength(20);
    expect(full.blocks.at(-1)?.conv3.outLength).toBe(20);
  });

  it('is deterministic: same seed, same bytes; another seed, other weights', () => {
    const a = exportNet1dOnnx(buildNet1d(DEMO_CONFIG, { seed: 5 }));
    const b = exportNet1dOnnx(buildNet1d(DEMO_CONFIG, { seed: 5 }));
    const c = exportNet1dOnnx(buildNet1d(DEMO_CONFIG, { seed: 6 }));
    expect(Buffer.compare(a, b)).toBe(0);
    expect(Buffer.compare(a, c)).not.toBe(0);
  });

  it('ONNX Runtime agrees with the float64 reference to 1e-5 relative on fresh random and ECG-like inputs', async () => {
    const { net, model } = buildModelInMemory({ seed: Date.now() % 100_000 });
    const seed = Math.floor(Math.random() * 1e9);
    const inputs = [
      randomModelInput(seed, 12, 5000),
      randomModelInput(seed + 1, 12, 5000),
      syntheticModelInput(seed + 2, 12, 5000),
      syntheticModelInput(seed + 3, 12, 5000),
    ];
    const ortProbs = await runOrt(model.bytes, inputs);
    const refProbs = inputs.flatMap((x) => Array.from(forwardReference(net, x).probabilities));
    expect(ortProbs).toHaveLength(16);
    expect(relativeError(ortProbs, refProbs)).toBeLessThan(1e-5);
  });

  it('agrees on the full-size network too (30.6 M parameters, 20 blocks)', async () => {
    const { net, model } = buildModelInMemory({ config: FULL_CONFIG, calibrationExamples: 0, seed: 3 });
    const input = syntheticModelInput(Math.floor(Math.random() * 1e9), 12, 5000);
    const ortProbs = await runOrt(model.bytes, [input]);
    expect(relativeError(ortProbs, forwardReference(net, input).probabilities)).toBeLessThan(1e-5);
  }, 120_000);

  it('the float16 copy stays close to float32 and keeps float32 input and output', async () => {
    const f32 = buildModelInMemory({ seed: 11 });
    const f16 = buildModelInMemory({ seed: 11, float16: true });
    expect(f16.model.graph.inputs[0]?.elemType).toBe('float32');
    expect(f16.model.bytes.length).toBeLessThan(0.6 * f32.model.bytes.length);
    const inputs = [syntheticModelInput(3, 12, 5000), syntheticModelInput(4, 12, 5000)];
    const a = await runOrt(f32.model.bytes, inputs);
    const b = await runOrt(f16.model.bytes, inputs);
    for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(0.02);
  });

  it('spreads demo probabilities over the strata rather than around one value', () => {
    const { net } = buildModelInMemory();
    const probs = Array.from({ length: 12 }, (_, i) => forwardReference(net, syntheticModelInput(9000 + i, 12, 5000)));
    for (let v = 0; v < 4; v++) {
      const p = probs.map((r) => r.probabilities[v] as number);
      expect(Math.max(...p) - Math.min(...p)).toBeGreaterThan(0.15);
    }
  });

  it('refuses an input of the wrong size', () => {
    const net = buildNet1d(DEMO_CONFIG);
    expect(() => forwardReference(net, new Float32Array(10))).toThrow(/expected 60000/);
  });
});

describe('float16 conversion', () => {
  it('round-trips representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24]) {
      expect(fromFloat16Bits(toFloat16Bits(v))).toBe(v);
    }
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
    expect(Math.abs(fromFloat16Bits(toFloat16Bits(0.1)) - 0.1)).toBeLessThan(1e-4);
  });
});
