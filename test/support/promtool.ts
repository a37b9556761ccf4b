/** Runs Prometheus's promtool (Debian package `prometheus`; .ci/run installs it) on rule files. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);

/** The rules file the deployment ships. */
export const RULES_FILE = fileURLToPath(new URL('../../deploy/prometheus/ecgcad-rules.yml', import.meta.url));

/** promtool's exit code and output (never throws for a non-zero exit). */
export async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool is not installed (apt-get install prometheus)');
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The k8s PrometheusRule manifest (Prometheus Operator) checked in beside the other manifests. */
export const PROMETHEUS_RULE_FILE = fileURLToPath(new URL('../../deploy/k8s/prometheus-rule.yaml', import.meta.url));

/** The PrometheusRule manifest generated from the rules file's text: the same groups, under `spec`. */
export function prometheusRuleYaml(rulesText: string): string {
  const rules = parse(rulesText) as { groups: unknown[] };
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'ecgcad', labels: { 'app.kubernetes.io/name': 'ecgcad', role: 'alert-rules' } },
    spec: { groups: rules.groups },
  };
  return [
    '# Generated from deploy/prometheus/ecgcad-rules.yml by test/alert-rules.test.ts (UPDATE_DEPLOY=1 rewrites it).',
    '# Do not edit here. Add the label your Prometheus Operator selects rules by (e.g. release: prometheus).',
    stringify(manifest, { lineWidth: 0 }),
  ].join('\n');
}
