import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, synthesizeEcg } from '@ecgcad/ecg';
import { buildModelInMemory, CARD_FILE, createSession, MODEL_FILE, Predictor, type ShadowRecord } from '@ecgcad/infer';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ShadowMetrics } from './shadow-metrics.js';
import { shadowFileOf, shadowPairOf, startShadow } from './shadow-mode.js';
import type { ShadowStore } from './shadow-store.js';

const { model } = buildModelInMemory();
const dir = mkdtempSync(join(tmpdir(), 'ecgcad-shadow-mode-'));
writeFileSync(join(dir, MODEL_FILE), model.bytes);
writeFileSync(join(dir, CARD_FILE), JSON.stringify({ ...model.card, version: '9.9.9-shadow' }));
let live: Predictor;

beforeAll(async () => {
  live = new Predictor(await createSession(model, { intraOpNumThreads: 1 }));
});
afterAll(async () => {
  await live.close();
});

const configWith = (shadow: unknown) =>
  loadConfig({
    env: {},
    overrides: [
      { path: ['model', 'shadow'], value: shadow },
      { path: ['out'], value: '/data/out' },
    ],
  });

function logger() {
  const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const log = (fields: Record<string, unknown>, msg: string) => void lines.push({ fields, msg });
  return { lines, info: log, warn: log };
}

describe('model.shadow configuration', () => {
  it('defaults fraction to 1 and the embedded file to <out>/shadow-results.jsonl; refuses a fraction above 1', () => {
    const config = configWith({ dir });
    expect(config.model.shadow).toMatchObject({ dir, fraction: 1, retentionDays: 90 });
    expect(shadowFileOf(config)).toBe(join('/data/out', 'shadow-results.jsonl'));
    expect(() => configWith({ dir, fraction: 1.5 })).toThrow(ConfigError);
    expect(() => configWith({ folder: dir })).toThrow(ConfigError);
  });
});

describe('startShadow', () => {
  const metricsAndStore = () => {
    const registry = new Registry();
    const records: ShadowRecord[] = [];
    const pairs: string[] = [];
    return { registry, metrics: new ShadowMetrics(registry), records, pairs };
  };

  it('is off without model.shadow, and names a missing shadow folder', async () => {
    const { metrics } = metricsAndStore();
    const store = () => ({}) as ShadowStore;
    const off = await startShadow({ config: loadConfig({ env: {} }), live, metrics, store, logger: logger() });
    expect(off).toBeUndefined();
    await expect(
      startShadow({ config: configWith({ dir: join(dir, 'nope') }), live, metrics, store, logger: logger() }),
    ).rejects.toThrow(/model\.shadow\.dir: no model folder/);
  });

  it('records each pair to the store of its model pair and the metrics; a store fault is counted and logged without the ECG id', async () => {
    const { registry, metrics, records, pairs } = metricsAndStore();
    let failing = false;
    const log = logger();
    const scorer = await startShadow({
      config: configWith({ dir }),
      live,
      metrics,
      logger: log,
      store: (pair) => {
        pairs.push(pair);
        return {
          records: async () => records,
          append: async (r) => {
            if (failing) throw new Error('redis down');
            records.push(r);
          },
        };
      },
    });
    if (!scorer) throw new Error('no scorer');
    expect(pairs).toEqual([shadowPairOf(live, scorer.shadow)]);
    expect(pairs[0]).toBe(`${model.card.id}@${model.card.version}|${model.card.id}@9.9.9-shadow`);
    const ecg = { ...synthesizeEcg({ seed: 5, fast: true }), id: '1.2.840.99.1' };
    await (await scorer.predict(ecg)).settle(true);
    failing = true;
    await (await scorer.predict({ ...ecg, id: '1.2.840.99.2' })).settle(true);
    await scorer.close();
    expect(records.map((r) => r.ecgId)).toEqual(['1.2.840.99.1']);
    const text = await registry.metrics();
    expect(text).toContain('ecgcad_shadow_failures_total{step="record"} 1');
    expect(text).toMatch(/ecgcad_shadow_prob_abs_diff_count\{vessel="LAD"\} 2/);
    const warning = log.lines.find((l) => l.msg.startsWith('shadow model fault'));
    expect(warning?.fields).toMatchObject({ step: 'record', error: 'Error' });
    expect(JSON.stringify(log.lines)).not.toContain('1.2.840.99');
  });
});
