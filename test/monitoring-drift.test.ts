/**
 * Drift, end to end: ECGs through the embedded pipeline (decode, quality gate, model) into the model monitor, with
 * the window in real Redis. The first 500 become the live reference (the model folder has none); 500 more like them
 * leave every PSI low; 500 at another sample rate with more muscle noise raise the PSI of those inputs above 0.25
 * and leave the other inputs alone. The alert rule then fires in `promtool test rules` on the measured values.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PSI_MAJOR } from '@ecgcad/clinical';
import { synthesizeEcg } from '@ecgcad/ecg';
import { EmbeddedPipeline, ModelMonitor } from '@ecgcad/engine';
import { FhirWriter, FileSink } from '@ecgcad/fhir-writer';
import { buildModelInMemory, createSession, Predictor } from '@ecgcad/infer';
import { writeDicomEcg } from '@ecgcad/ingest';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, REDIS_URL, uniquePrefix } from './pipeline-support.js';
import { promtool, RULES_FILE } from './support/promtool.js';

const N = 500;
const prefix = uniquePrefix('drift');
const { model } = buildModelInMemory();
let predictor: Predictor;
let redis: Redis;
let dir: string;
let clock = Date.parse('2026-12-01T08:00:00Z');

beforeAll(async () => {
  predictor = new Predictor(await createSession(model, { intraOpNumThreads: 1 }), {
    batching: { maxBatch: 16, maxDelayMs: 2 },
  });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  dir = await mkdtemp(join(tmpdir(), 'ecgcad-drift-'));
});
afterAll(async () => {
  await predictor?.close();
  await dropPrefix(prefix);
  redis?.disconnect();
});

async function openMonitor(registry?: Registry): Promise<ModelMonitor> {
  return ModelMonitor.open({
    redis,
    prefix,
    // No reference-profile.json here: the reference is captured from the first N live ECGs.
    modelDir: dir,
    model: { id: predictor.model.ref.id, version: predictor.model.ref.version },
    settings: { captureEcgs: N, windowEcgs: N, bucketMinutes: 60 },
    ...(registry ? { registry } : {}),
    now: () => clock,
  });
}

/** Runs `count` synthetic ECGs through the embedded pipeline, each observed by the monitor. */
async function feed(monitor: ModelMonitor, firstSeed: number, count: number, shifted: boolean): Promise<void> {
  const pipeline = new EmbeddedPipeline({
    predictor,
    writer: new FhirWriter({ sink: new FileSink({ dir: join(dir, 'out') }), patient: { whenMissing: 'placeholder' } }),
    onPredicted: (ecg, prediction) => monitor.observe(ecg, prediction),
  });
  const outcomes = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const seed = firstSeed + i;
      const ecg = synthesizeEcg({
        seed,
        fast: true,
        ...(shifted ? { sampleRateHz: 250, noise: { muscleUv: 40 } } : {}),
      });
      return pipeline.process(writeDicomEcg(ecg), {
        feed: 'file',
        receivedAt: new Date(clock).toISOString(),
        source: `ecg-${seed}`,
      });
    }),
  );
  expect(outcomes.filter((o) => o.kind !== 'done').map((o) => o.kind)).toEqual([]);
  await monitor.flush();
}

async function psiGauges(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('ecgcad_drift_psi')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.measure), v.value]));
}

const INPUTS = ['sample_rate_hz', 'duration_s', 'amplitude_mv', 'noise_uv', 'baseline_wander_uv', 'derived_lead_share'];
const SHIFTED = ['sample_rate_hz', 'noise_uv'];
let shiftedGauges: Record<string, number> = {};
let windowEcgs = 0;

describe('drift monitoring', () => {
  it('captures a live reference, stays quiet on like ECGs and flags the shifted inputs only', async () => {
    const registry = new Registry();
    const monitor = await openMonitor(registry);
    await feed(monitor, 1, N, false);
    const captured = await monitor.report();
    expect(captured.referenceSource).toBe('live capture');
    expect(captured.reference?.n).toBe(N);

    await feed(monitor, 10_001, N, false);
    const like = await psiGauges(registry);
    expect(Object.keys(like).sort()).toEqual(
      [...INPUTS, 'probability_LAD', 'probability_LCx', 'probability_LM', 'probability_RCA'].sort(),
    );
    for (const [measure, psi] of Object.entries(like)) expect(psi, measure).toBeLessThan(0.1);

    // Two hours later: a new bucket, and the window (N ECGs) holds only the shifted ones.
    clock += 2 * 3600_000;
    await feed(monitor, 20_001, N, true);
    shiftedGauges = await psiGauges(registry);
    windowEcgs = (await monitor.report()).windowEcgs;
    expect(windowEcgs).toBe(N);
    for (const measure of INPUTS) {
      if (SHIFTED.includes(measure)) expect(shiftedGauges[measure], measure).toBeGreaterThan(PSI_MAJOR);
      else expect(shiftedGauges[measure], measure).toBeLessThan(PSI_MAJOR);
    }
    // What the model said about the shifted inputs (the demo model resamples to its own rate).
    console.info('PSI after the shift:', JSON.stringify(shiftedGauges));
  });

  it('keeps the reference and the window across a restart (Redis)', async () => {
    const again = await openMonitor();
    const report = await again.report();
    expect(report.referenceSource).toBe('live capture');
    expect(report.windowEcgs).toBe(N);
    const psi = Object.fromEntries(report.rows.map((r) => [r.measure, r.psi]));
    for (const [measure, value] of Object.entries(shiftedGauges)) expect(psi[measure], measure).toBeCloseTo(value, 12);
  });

  it('fires EcgcadDriftMajor in promtool for the measured shifted inputs only', async () => {
    const series = Object.entries(shiftedGauges).map(([measure, psi]) => ({
      series: `ecgcad_drift_psi{measure="${measure}",instance="infer-0",job="ecgcad"}`,
      values: `${psi}x60`,
    }));
    series.push({ series: 'ecgcad_drift_window_ecgs{instance="infer-0",job="ecgcad"}', values: `${windowEcgs}x60` });
    const firing = Object.entries(shiftedGauges).filter(([, psi]) => psi > PSI_MAJOR);
    expect(firing.map(([m]) => m)).toEqual(expect.arrayContaining(SHIFTED));
    const test = {
      rule_files: [RULES_FILE],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          alert_rule_test: [
            { eval_time: '20m', alertname: 'EcgcadDriftMajor', exp_alerts: [] },
            {
              eval_time: '45m',
              alertname: 'EcgcadDriftMajor',
              exp_alerts: firing.map(([measure, psi]) => ({
                exp_labels: { severity: 'warning', measure },
                exp_annotations: {
                  summary: `Major drift of ${measure} (PSI ${psi.toFixed(2)})`,
                  description: `The distribution of ${measure} over the drift window differs from the model's reference (PSI > 0.25). Run \`ecgcad monitor\` to see the bins; an input shift usually means a new cart or setting; an output shift without an input shift means the case mix changed. Tell the AI governance lead.`,
                },
              })),
            },
          ],
        },
      ],
    };
    const file = join(dir, 'drift-rules.test.json');
    // promtool reads YAML; JSON is YAML.
    await writeFile(file, JSON.stringify(test, null, 2));
    const result = await promtool('test', 'rules', file);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });
});
