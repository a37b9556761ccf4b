import type { ShadowRecord } from '@ecgcad/infer';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ShadowMetrics } from './shadow-metrics.js';

const rec = (ecgId: string, live: [number, 'low' | 'high'], shadow: [number, 'low' | 'high']): ShadowRecord => ({
  ecgId,
  at: '2026-12-01T00:00:00.000Z',
  written: true,
  live: { model: 'm@1', vessels: [{ vessel: 'LAD', probability: live[0], stratum: live[1] }] },
  shadow: { model: 'm@2', vessels: [{ vessel: 'LAD', probability: shadow[0], stratum: shadow[1] }] },
});

describe('ShadowMetrics', () => {
  it('exposes pairs, agreement, mean |dp| and failures in the exposition format', async () => {
    const registry = new Registry();
    const metrics = new ShadowMetrics(registry);
    metrics.observe(rec('a', [0.1, 'low'], [0.15, 'low']));
    metrics.observe(rec('b', [0.5, 'high'], [0.3, 'low']));
    metrics.observe(rec('c', [0.6, 'high'], [0.6, 'high']));
    metrics.observe(rec('d', [0.05, 'low'], [0.05, 'low']));
    metrics.failed('score');
    const text = await registry.metrics();
    expect(text).toContain('ecgcad_shadow_stratum_pairs_total{vessel="LAD",live="low",shadow="low"} 2');
    expect(text).toContain('ecgcad_shadow_stratum_pairs_total{vessel="LAD",live="high",shadow="low"} 1');
    expect(text).toContain('ecgcad_shadow_agreement_ratio{vessel="LAD"} 0.75');
    expect(text).toContain('ecgcad_shadow_prob_abs_diff_count{vessel="LAD"} 4');
    const sum = Number(/ecgcad_shadow_prob_abs_diff_sum\{vessel="LAD"\} (\S+)/.exec(text)?.[1]);
    expect(sum).toBeCloseTo(0.05 + 0.2, 12);
    expect(text).toContain('ecgcad_shadow_failures_total{step="score"} 1');
    expect(text).toContain('ecgcad_shadow_failures_total{step="record"} 0');
  });
});
