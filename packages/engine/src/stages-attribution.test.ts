import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, synthesizeEcg } from '@ecgcad/ecg';
import { generateModelFolder, type Predictor } from '@ecgcad/infer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { predictorFromConfig } from './stages.js';

describe('attribution configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecgcad-attribution-'));
  const predictors: Predictor[] = [];
  beforeAll(async () => {
    await generateModelFolder({ outDir: dir, calibrationExamples: 0 });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(predictors.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to maps for ECGs with a high vessel, in 1 s windows; ECGCAD_ATTRIBUTION sets when', () => {
    expect(loadConfig({ env: {} }).attribution).toEqual({ when: 'any-high', windowS: 1 });
    expect(loadConfig({ env: { ECGCAD_ATTRIBUTION: 'never' } }).attribution.when).toBe('never');
    expect(() => loadConfig({ env: { ECGCAD_ATTRIBUTION: 'sometimes' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides: [{ path: ['attribution', 'windowS'], value: 0 }] })).toThrow(
      /attribution\.windowS/,
    );
  });

  it('reaches the Predictor the embedded and queued modes build (predictorFromConfig)', async () => {
    const config = (when: string) =>
      loadConfig({
        env: { ECGCAD_ATTRIBUTION: when },
        overrides: [
          { path: ['model', 'dir'], value: dir },
          { path: ['attribution', 'windowS'], value: 2.5 },
        ],
      });
    const always = await predictorFromConfig(config('always'));
    const never = await predictorFromConfig(config('never'));
    predictors.push(always, never);
    const ecg = synthesizeEcg({ seed: 5 });
    const mapped = await always.predict(ecg);
    expect(mapped.status === 'scored' && mapped.attribution).toMatchObject({ windowS: 2.5, startS: 0 });
    if (mapped.status === 'scored') expect(mapped.attribution?.vessels.LAD?.[0]).toHaveLength(4);
    expect(await never.predict(ecg)).not.toHaveProperty('attribution');
  });
});
