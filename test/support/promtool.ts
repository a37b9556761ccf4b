/** Runs Prometheus's promtool (Debian package `prometheus`; .ci/run installs it) on rule files. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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
