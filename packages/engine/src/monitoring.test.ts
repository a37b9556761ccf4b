import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cohortReferenceProfile, REFERENCE_PROFILE_FILE } from '@ecgcad/clinical';
import { type Ecg, type EcgSummary, type ModelRef, type Prediction, synthesizeEcg, VESSELS } from '@ecgcad/ecg';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runSubcommand } from '../../../test/support/cli.js';
import { register } from './commands/monitor.js';
import { bar, formatDriftReport } from './drift-report.js';
import { LabelCap } from './label-cap.js';
import { EngineMetrics } from './metrics.js';
import { ModelMonitor } from './monitoring.js';

const DEMO = fileURLToPath(new URL('../../../models/ecgcad-demo', import.meta.url));
const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `{ecgcad-test-monitoring-${process.pid}-${Date.now()}}`;

afterEach(() => {
  vi.unstubAllEnvs();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

function scored(p: number): Prediction {
  return {
    status: 'scored',
    ecg: {} as EcgSummary,
    model: {} as ModelRef,
    vessels: VESSELS.map((vessel) => ({
      vessel,
      probability: p,
      stratum: p < 0.2 ? 'low' : p < 0.7 ? 'intermediate' : 'high',
    })),
    predictedAt: '2026-12-03T00:00:00.000Z',
  };
}
const refused: Prediction = {
  status: 'not-analysable',
  ecg: {} as EcgSummary,
  model: {} as ModelRef,
  reasons: ['flat leads (lead off or no signal): V3', 'too short: 3 s < 8 s required'],
  predictedAt: '2026-12-03T00:00:00.000Z',
};

function ecgFrom(device: string, seed: number): Ecg {
  const ecg = synthesizeEcg({ seed, fast: true });
  return { ...ecg, device: { manufacturer: 'ACME', model: device } };
}

/** A copy of the demo model folder with a calibrate-style profile (vessel outputs only). */
function modelWithCohortProfile(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ecgcad-monitoring-')), 'model');
  cpSync(DEMO, dir, { recursive: true });
  const card = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { id: string; version: string };
  const rows = Array.from({ length: 100 }, (_, i) => ({
    status: 'scored',
    probabilities: Object.fromEntries(VESSELS.map((v) => [v, (i % 10) / 10 + 0.05])),
  }));
  const t = { ruleOut: 0.2, ruleIn: 0.7 };
  const profile = cohortReferenceProfile(
    rows,
    { RCA: t, LM: t, LAD: t, LCx: t },
    {
      source: 'calibrate',
      createdAt: '2026-12-01T00:00:00.000Z',
      model: card,
    },
  );
  writeFileSync(join(dir, REFERENCE_PROFILE_FILE), JSON.stringify(profile));
  return dir;
}

describe('LabelCap', () => {
  it('keeps the first values, folds the rest into other, and cleans what it keeps', () => {
    const cap = new LabelCap(2);
    expect([cap.value('a'), cap.value('b'), cap.value('c'), cap.value('a'), cap.value(undefined)]).toEqual([
      'a',
      'b',
      'other',
      'a',
      'other',
    ]);
    expect(new LabelCap(3).value(' MAC\u00e9 5500\n ')).toBe('MAC 5500');
  });
});

describe('ModelMonitor', () => {
  it('counts predictions, reasons by code, inputs by capped device; merges file and live reference', async () => {
    const dir = modelWithCohortProfile();
    const card = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { id: string; version: string };
    const registry = new Registry();
    const monitor = await ModelMonitor.open({
      redis,
      prefix,
      modelDir: dir,
      model: card,
      settings: { captureEcgs: 10, maxLabelValues: 2 },
      registry,
    });
    expect((await monitor.report()).referenceSource).toBe('none');
    for (let i = 0; i < 10; i++) monitor.observe(ecgFrom(`cart-${i % 3}`, i + 1), scored((i % 10) / 10 + 0.05));
    await monitor.flush();
    const captured = await monitor.report();
    expect(captured.referenceSource).toBe('model folder + live capture');
    expect(captured.reference?.measures).toHaveProperty('noise_uv');
    expect(captured.reference?.measures.probability_LAD?.counts.reduce((a, b) => a + b)).toBe(100);

    for (let i = 0; i < 10; i++) monitor.observe(ecgFrom('cart-0', 100 + i), scored((i % 10) / 10 + 0.05));
    monitor.observe(ecgFrom('cart-0', 200), refused);
    await monitor.flush();
    const report = await monitor.report();
    expect(report.windowEcgs).toBe(11);
    expect(report.bands.find((b) => b.vessel === 'LAD' && b.stratum === 'low')).toMatchObject({ share: 0.2 });

    const text = await registry.metrics();
    expect(text).toContain('ecgcad_not_analysable_total{reason="flat-leads"} 1');
    expect(text).toContain('ecgcad_not_analysable_total{reason="too-short"} 1');
    expect(text).toContain('ecgcad_prediction_outcomes_total{status="scored"} 20');
    expect(text).toContain('ecgcad_predictions_total{vessel="LAD",stratum="low"} 4');
    expect(text).toContain('ecgcad_inputs_total{feed="synth",device="ACME cart-0"} 15');
    expect(text).toContain('ecgcad_inputs_total{feed="synth",device="other"} 3');
    expect(text).toMatch(/ecgcad_drift_psi\{measure="probability_LAD"\} [0-9.]+/);
    expect(text).toContain('ecgcad_drift_window_ecgs 11');
    expect(text).toContain('ecgcad_stratum_reference_share{vessel="LAD",stratum="low",bound="expected"} 0.2');
    expect(text).not.toMatch(/ACME cart-2/);

    // `ecgcad monitor` reads the same window.
    vi.stubEnv('ECGCAD_MODEL_DIR', dir);
    vi.stubEnv('ECGCAD_REDIS_PREFIX', prefix);
    const json = await runSubcommand(register, 'monitor', ['--json']);
    expect(json.stderr).toBe('');
    const printed = JSON.parse(json.stdout) as { windowEcgs: number; rows: Array<{ measure: string; psi: number }> };
    expect(printed.windowEcgs).toBe(11);
    expect(printed.rows.map((r) => r.psi)).toEqual(report.rows.map((r) => r.psi));
    const table = await runSubcommand(register, 'monitor', ['--bars', '--bins']);
    expect(table.stdout).toMatch(/^sample_rate_hz\s+11\s+0\.000\s+stable/m);
    expect(table.stdout).toMatch(/^LAD\s+low\s+20\.0%/m);
    expect(table.stdout).toContain('[400, 600)');
  });

  it('refuses a malformed profile in the model folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecgcad-monitoring-bad-'));
    writeFileSync(join(dir, REFERENCE_PROFILE_FILE), '{"format":"other"}');
    await expect(ModelMonitor.open({ redis, prefix, modelDir: dir, model: { id: 'x', version: '1' } })).rejects.toThrow(
      /reference profile: format/,
    );
  });
});

describe('EngineMetrics.onWritten', () => {
  it('counts the PTP category mix of written results', async () => {
    const metrics = new EngineMetrics();
    metrics.onWritten({ ptp: { status: 'computed', level: 'high' } });
    metrics.onWritten({ ptp: { status: 'computed', level: 'high' } });
    metrics.onWritten({ ptp: { status: 'not-computed', missing: ['age'] } });
    // PTP off: nothing counted.
    metrics.onWritten({});
    const text = await metrics.registry.metrics();
    expect(text).toContain('ecgcad_ptp_total{status="computed",level="high"} 2');
    expect(text).toContain('ecgcad_ptp_total{status="not-computed",level="none"} 1');
  });
});

describe('formatDriftReport', () => {
  it('draws PSI bars to scale and says when no reference exists', () => {
    expect(bar(0.5, 4, 'ascii')).toBe('##');
    expect(bar(1, 2, 'blocks')).toBe('██');
    expect(bar(0.0625, 2, 'blocks')).toBe('▏');
    expect(bar(0.5, 4, 'none')).toBe('');
    const none = formatDriftReport(
      { reference: undefined, referenceSource: 'none', captured: 7, windowEcgs: 0, rows: [], bands: [] },
      { model: { id: 'm', version: '1' }, bars: 'blocks' },
    );
    expect(none).toContain('7 ECGs captured towards a live one');
  });
});
