import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportLeadMeanReadoutOnnx } from './lead-mean-readout.js';

describe('exportLeadMeanReadoutOnnx', () => {
  it('computes sigmoid(lead means . weights + bias) for a batch', async () => {
    const [leads, samples, outputs, batch] = [3, 7, 2, 4];
    const weights = Float32Array.from({ length: leads * outputs }, (_, i) => (i % 3) - 0.5 * i);
    const bias = Float32Array.from([0.25, -1]);
    const bytes = exportLeadMeanReadoutOnnx({ leads, samples, weights, bias });
    const input = Float32Array.from({ length: batch * leads * samples }, (_, i) => Math.sin(i * 0.37) * 2);
    const session = await ort.InferenceSession.create(bytes);
    try {
      const result = await session.run({ ecg: new ort.Tensor('float32', input, [batch, leads, samples]) });
      const prob = result.prob?.data as Float32Array;
      expect(result.prob?.dims).toEqual([batch, outputs]);
      for (let n = 0; n < batch; n++) {
        for (let k = 0; k < outputs; k++) {
          let logit = bias[k] as number;
          for (let c = 0; c < leads; c++) {
            let mean = 0;
            for (let t = 0; t < samples; t++) mean += input[(n * leads + c) * samples + t] as number;
            logit += (mean / samples) * (weights[c * outputs + k] as number);
          }
          expect(prob[n * outputs + k]).toBeCloseTo(1 / (1 + Math.exp(-logit)), 6);
        }
      }
    } finally {
      await session.release();
    }
  });

  it('refuses weights that do not match leads x outputs', () => {
    expect(() =>
      exportLeadMeanReadoutOnnx({ leads: 2, samples: 5, weights: new Float32Array(3), bias: new Float32Array(2) }),
    ).toThrow(RangeError);
  });
});
