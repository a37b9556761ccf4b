import { type Ecg, prepare, summarizeEcg, synthesizeEcg, VESSELS } from '@ecgcad/ecg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModelInMemory } from './demo/in-memory.js';
import { forwardReference } from './net1d/reference.js';
import { Predictor, stratumOf } from './predictor.js';
import { createSession } from './session.js';

const { net, model } = buildModelInMemory();
let predictor: Predictor;
const now = new Date('2026-03-01T12:00:00.000Z');

beforeAll(async () => {
  const session = await createSession(model, { intraOpNumThreads: 2 });
  predictor = new Predictor(session, { batching: { maxBatch: 4, maxDelayMs: 2 }, now: () => now });
});
afterAll(async () => {
  await predictor.close();
});

describe('stratumOf', () => {
  it('p < ruleOut is low, p >= ruleIn is high, in between intermediate', () => {
    const t = { ruleOut: 0.12, ruleIn: 0.41 };
    expect(stratumOf(0.1199, t)).toBe('low');
    expect(stratumOf(0.12, t)).toBe('intermediate');
    expect(stratumOf(0.4099, t)).toBe('intermediate');
    expect(stratumOf(0.41, t)).toBe('high');
    expect(stratumOf(0, { ruleOut: 0, ruleIn: 0 })).toBe('high');
  });
});

describe('Predictor', () => {
  it('scores ECGs with the card thresholds; probabilities equal the reference on the prepared input', async () => {
    const ecgs = Array.from({ length: 10 }, (_, i) =>
      synthesizeEcg({ seed: 300 + i, heartRateBpm: 55 + 5 * i, sampleRateHz: i % 2 ? 500 : 1000 }),
    );
    const predictions = await Promise.all(ecgs.map((ecg) => predictor.predict(ecg)));
    const strata = new Set<string>();
    predictions.forEach((prediction, i) => {
      const ecg = ecgs[i] as Ecg;
      expect(prediction.status).toBe('scored');
      if (prediction.status !== 'scored') return;
      expect(prediction.model).toEqual(model.ref);
      expect(prediction.predictedAt).toBe(now.toISOString());
      expect(prediction.ecg).toEqual(summarizeEcg(ecg));
      expect(prediction.vessels.map((v) => v.vessel)).toEqual([...VESSELS]);
      const reference = forwardReference(net, prepare(ecg, model.card.input)).probabilities;
      prediction.vessels.forEach((v, k) => {
        expect(Math.abs(v.probability - (reference[k] as number)) / (reference[k] as number)).toBeLessThan(1e-5);
        const thresholds = model.card.thresholds[v.vessel];
        expect(thresholds).toBeDefined();
        expect(v.stratum).toBe(stratumOf(v.probability, thresholds as { ruleOut: number; ruleIn: number }));
        strata.add(v.stratum);
      });
    });
    // The demo's calibrated head spreads real-looking ECGs over more than one stratum.
    expect(strata.size).toBeGreaterThan(1);
  });

  it('returns not-analysable with reasons for a record the quality gate refuses, never a score', async () => {
    const short = synthesizeEcg({ seed: 1, durationS: 3 });
    const flat = synthesizeEcg({ seed: 2, flatLeads: ['V2', 'V3'] });
    for (const ecg of [short, flat]) {
      const prediction = await predictor.predict(ecg);
      expect(prediction.status).toBe('not-analysable');
      if (prediction.status === 'not-analysable') {
        expect(prediction.reasons.length).toBeGreaterThan(0);
        expect(prediction.model.id).toBe('ecgcad-demo');
        expect(prediction).not.toHaveProperty('vessels');
      }
    }
  });

  it('keeps the waveform out of the summary', () => {
    const ecg = synthesizeEcg({ seed: 3 });
    const summary = summarizeEcg(ecg);
    expect(JSON.stringify(summary).length).toBeLessThan(2000);
    expect(summary.leads).toEqual(['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']);
    expect(summary.durationS).toBe(10);
  });
});
