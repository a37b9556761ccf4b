import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelCard } from './card.js';
import { buildModelInMemory } from './demo/in-memory.js';
import type { LoadedModel } from './model-folder.js';
import { Predictor, stratumOf } from './predictor.js';
import { createSession } from './session.js';
import { ShadowScorer } from './shadow.js';
import type { ShadowRecord } from './shadow-compare.js';
import { inShadowSample } from './shadow-sample.js';

const { model } = buildModelInMemory();

/** The same network under another card version with other thresholds: what `ecgcad calibrate` produces. */
function recalibrated(base: LoadedModel): LoadedModel {
  const thresholds: ModelCard['thresholds'] = {};
  for (const [vessel, t] of Object.entries(base.card.thresholds)) {
    thresholds[vessel as keyof typeof thresholds] = { ruleOut: t.ruleOut * 1.6, ruleIn: Math.min(1, t.ruleIn * 1.3) };
  }
  const card = { ...base.card, version: `${base.card.version}-cal`, thresholds };
  return { ...base, card, ref: { ...base.ref, version: card.version } };
}

const shadowModel = recalibrated(model);
const ecgs: Ecg[] = Array.from({ length: 12 }, (_, i) => ({
  ...synthesizeEcg({ seed: 700 + i, heartRateBpm: 50 + 6 * i, fast: true }),
  id: `shadow-unit-${i}`,
}));
let live: Predictor;
let plain: Predictor;

beforeAll(async () => {
  live = new Predictor(await createSession(model, { intraOpNumThreads: 1 }), { batching: { maxDelayMs: 2 } });
  plain = new Predictor(await createSession(model, { intraOpNumThreads: 1 }), { batching: { maxDelayMs: 2 } });
});
afterAll(async () => {
  await live.close();
  await plain.close();
});

async function shadowPredictor(m: LoadedModel): Promise<Predictor> {
  return new Predictor(await createSession(m, { intraOpNumThreads: 1 }), { batching: { maxDelayMs: 2 } });
}

describe('ShadowScorer', () => {
  it('returns the live result unchanged and records the shadow’s strata from its own thresholds, input prepared once', async () => {
    const shadow = await shadowPredictor(shadowModel);
    // The shadow shares the live input spec, so it must never prepare the ECG itself.
    shadow.predict = () => Promise.reject(new Error('prepared twice'));
    const records: ShadowRecord[] = [];
    const failures: string[] = [];
    const scorer = new ShadowScorer({
      live,
      shadow,
      onScored: (r) => {
        records.push(r);
      },
      onFailure: (step, err) => failures.push(`${step}: ${String(err)}`),
    });
    expect(scorer.sharesInput).toBe(true);
    const results = await Promise.all(ecgs.map((ecg) => scorer.predict(ecg)));
    await Promise.all(results.map((r, i) => r.settle(i % 3 !== 0)));
    await scorer.close();
    expect(failures).toEqual([]);
    expect(records).toHaveLength(ecgs.length);
    let moved = 0;
    for (const [i, ecg] of ecgs.entries()) {
      const direct = await plain.predict(ecg);
      const { prediction } = results[i] as { prediction: typeof direct };
      if (direct.status !== 'scored' || prediction.status !== 'scored') throw new Error('not scored');
      expect(prediction.model.version).toBe(model.card.version);
      expect(prediction.vessels).toEqual(direct.vessels);
      const record = records.find((r) => r.ecgId === ecg.id) as ShadowRecord;
      expect(record.written).toBe(i % 3 !== 0);
      expect(record.live.model).toBe(`${model.card.id}@${model.card.version}`);
      expect(record.shadow.model).toBe(`${model.card.id}@${shadowModel.card.version}`);
      for (const [k, v] of record.shadow.vessels.entries()) {
        const l = direct.vessels[k] as (typeof direct.vessels)[number];
        expect(v.probability).toBeCloseTo(l.probability, 6);
        const t = shadowModel.card.thresholds[v.vessel] as { ruleOut: number; ruleIn: number };
        expect(v.stratum).toBe(stratumOf(v.probability, t));
        if (v.stratum !== l.stratum) moved++;
      }
    }
    // The thresholds differ enough that some results move: the comparison has something to count.
    expect(moved).toBeGreaterThan(0);
  });

  it('scores only the ECGs the fraction picks', async () => {
    const records: ShadowRecord[] = [];
    const scorer = new ShadowScorer({
      live,
      shadow: await shadowPredictor(shadowModel),
      fraction: 0.5,
      onScored: (r) => void records.push(r),
    });
    for (const r of await Promise.all(ecgs.map((ecg) => scorer.predict(ecg)))) await r.settle(true);
    await scorer.close();
    const expected = ecgs.filter((e) => inShadowSample(e.id, 0.5)).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(ecgs.length);
    expect(records.map((r) => r.ecgId).sort()).toEqual(expected.sort());
  });

  it('a failing shadow model or store never fails the live result: counted as failures instead', async () => {
    const shadow = await shadowPredictor(shadowModel);
    await shadow.close(); // its batcher now refuses every request
    const failures: string[] = [];
    const scorer = new ShadowScorer({
      live,
      shadow,
      onScored: () => {
        throw new Error('store down');
      },
      onFailure: (step) => failures.push(step),
    });
    const result = await scorer.predict(ecgs[0] as Ecg);
    expect(result.prediction.status).toBe('scored');
    await result.settle(true);
    expect(failures).toEqual(['score']);

    const working = new ShadowScorer({
      live,
      shadow: await shadowPredictor(shadowModel),
      onScored: async () => {
        throw new Error('store down');
      },
      onFailure: (step) => failures.push(step),
    });
    const second = await working.predict(ecgs[1] as Ecg);
    expect(second.prediction.status).toBe('scored');
    await expect(second.settle(true)).resolves.toBeUndefined();
    await working.close();
    expect(failures).toEqual(['score', 'record']);
  });

  it('a shadow with another input spec prepares its own input and is still compared', async () => {
    const card = { ...shadowModel.card, input: { ...shadowModel.card.input, filter: { highpassHz: 0.67 } } };
    const other: LoadedModel = { ...shadowModel, card };
    const records: ShadowRecord[] = [];
    const scorer = new ShadowScorer({
      live,
      shadow: await shadowPredictor(other),
      onScored: (r) => void records.push(r),
    });
    expect(scorer.sharesInput).toBe(false);
    const result = await scorer.predict(ecgs[2] as Ecg);
    await result.settle(false);
    await scorer.close();
    expect(records).toHaveLength(1);
    expect(records[0]?.written).toBe(false);
    expect(records[0]?.shadow.vessels).toHaveLength(4);
  });
});
