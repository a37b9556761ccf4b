/**
 * The deployment's alerting rules and dashboard: promtool accepts the rules and passes their unit tests, the k8s
 * PrometheusRule carries the same groups, and every metric the Grafana dashboard queries is one the engine exports.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { EngineMetrics, ModelMonitor, ShadowMetrics } from '@ecgcad/engine';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dropPrefix, REDIS_URL, uniquePrefix } from './pipeline-support.js';
import { PROMETHEUS_RULE_FILE, prometheusRuleYaml, promtool, RULES_FILE } from './support/promtool.js';

const RULES_TEST_FILE = fileURLToPath(new URL('../deploy/prometheus/ecgcad-rules.test.yml', import.meta.url));
const DASHBOARD_FILE = fileURLToPath(new URL('../deploy/grafana/ecgcad.json', import.meta.url));

/** Metric names a PromQL expression reads (identifiers followed by a selector, range or operator, not functions). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  const names = withoutStrings.match(/\becgcad_[a-zA-Z0-9_]+/g) ?? [];
  return [...new Set(names)];
}

/** Every series name the engine exports (histograms as _bucket, _sum, _count). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new EngineMetrics();
  // Exported only while model.shadow is set; registered here so rules and panels on them are checked too.
  new ShadowMetrics(metrics.registry);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefix = uniquePrefix('alert-rules');
  try {
    await ModelMonitor.open({
      redis,
      prefix,
      modelDir: '/nonexistent',
      model: { id: 'm', version: '1' },
      registry: metrics.registry,
    });
    const names = new Set<string>();
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    }
    return names;
  } finally {
    await dropPrefix(prefix);
    redis.disconnect();
  }
}

describe('alerting rules', () => {
  it('pass promtool check rules', async () => {
    const result = await promtool('check', 'rules', RULES_FILE);
    expect(result.output).toContain('SUCCESS: 7 rules found');
    expect(result.code).toBe(0);
  });

  it('pass their promtool unit tests (each alert fires when it should and not before)', async () => {
    const result = await promtool('test', 'rules', RULES_TEST_FILE);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('are exercised: every alert of the rules file has a firing case in the unit tests', async () => {
    const rules = parse(await readFile(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string }> }> };
    const tests = await readFile(RULES_TEST_FILE, 'utf8');
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      expect(tests, rule.alert).toMatch(new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
    }
  });

  it('read only metrics the engine exports', async () => {
    const exported = await exportedNames();
    const rules = parse(await readFile(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const name of metricNames(rule.expr)) expect(exported, `${name} in ${rule.expr}`).toContain(name);
    }
  });

  it('ship as a k8s PrometheusRule with the same groups', async () => {
    const rulesText = await readFile(RULES_FILE, 'utf8');
    const generated = prometheusRuleYaml(rulesText);
    if (process.env.UPDATE_DEPLOY === '1') await writeFile(PROMETHEUS_RULE_FILE, generated);
    const shipped = await readFile(PROMETHEUS_RULE_FILE, 'utf8');
    expect(shipped, 'run UPDATE_DEPLOY=1 npx vitest run test/alert-rules.test.ts').toBe(generated);
    const manifest = parse(shipped) as { kind: string; spec: { groups: unknown } };
    expect(manifest.kind).toBe('PrometheusRule');
    expect(manifest.spec.groups).toEqual((parse(rulesText) as { groups: unknown }).groups);
  });
});

describe('Grafana dashboard', () => {
  it('queries only metrics the engine exports, and shows each alert family', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as {
      panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const exported = await exportedNames();
    const used = new Set<string>();
    for (const expr of exprs) {
      const names = metricNames(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported, `${name} in ${expr}`).toContain(name);
        used.add(name);
      }
    }
    for (const name of [
      'ecgcad_drift_psi',
      'ecgcad_queue_depth',
      'ecgcad_queue_oldest_waiting_seconds',
      'ecgcad_prediction_outcomes_total',
      'ecgcad_not_analysable_total',
      'ecgcad_stratum_window_share',
      'ecgcad_vessel_probability_bucket',
      'ecgcad_inputs_total',
      'ecgcad_shadow_agreement_ratio',
      'ecgcad_shadow_failures_total',
    ]) {
      expect(used, name).toContain(name);
    }
  });

  it('finds an unknown metric (the check can fail)', () => {
    expect(metricNames('sum(rate(ecgcad_nope_total{a="ecgcad_x"}[5m]))')).toEqual(['ecgcad_nope_total']);
  });
});
