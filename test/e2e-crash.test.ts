/**
 * Crash safety: `kill -9` of a spawned `ecgcad worker infer` in the middle of a run of 500 synthetic ECGs. The jobs it
 * held are found again by BullMQ's stalled-job check and re-run by a second worker; afterwards every ECG has exactly
 * one RiskAssessment in the test EHR (the write side is idempotent: job ids + conditional creates).
 * Needs the built CLI (`npx turbo run build`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueuedEngine } from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import type { RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropPrefix,
  postAll,
  resources,
  startTestEngine,
  syntheticDicoms,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';

export const CLI = fileURLToPath(new URL('../packages/engine/dist/cli.js', import.meta.url));
const built = existsSync(CLI);

/** Spawns `ecgcad worker <stage>` with a config file; stderr is kept for diagnostics. */
export function spawnWorker(stage: string, configFile: string): ChildProcess & { log: string[] } {
  const child = spawn(process.execPath, [CLI, 'worker', stage, '--no-http', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ECGCAD_CONFIG: '' },
  }) as ChildProcess & { log: string[] };
  child.log = [];
  child.stderr?.on('data', (chunk: Buffer) => child.log.push(chunk.toString()));
  return child;
}

describe.skipIf(!built)(
  `kill -9 of the infer worker (${built ? 'built CLI' : 'CLI not built: run npx turbo run build'})`,
  () => {
    let ehr: TestEhr;
    let engine: QueuedEngine & { tmp: string };
    const children: ChildProcess[] = [];
    const prefix = uniquePrefix('crash');

    beforeAll(async () => {
      ehr = await startTestEhr();
      // This process: feeds + write stage. The infer stage runs in child processes.
      engine = await startTestEngine({ prefix, fhirUrl: ehr.url, stages: ['write'] });
    });

    afterAll(async () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await engine?.close();
      await ehr?.close();
      await dropPrefix(prefix);
    });

    it('every ECG ends with exactly one RiskAssessment after a worker is killed mid-run', async () => {
      const total = 500;
      const configFile = join(engine.tmp, 'worker.json');
      await writeFile(
        configFile,
        JSON.stringify({
          redis: { prefix },
          model: { maxBatch: 8 },
          workers: { infer: 16, lockDurationMs: 3000, stalledIntervalMs: 1000 },
          retry: { baseDelayMs: 200 },
          log: { level: 'warn' },
        }),
      );
      const dicoms = syntheticDicoms(total, prefix.slice(-9, -1));
      const first = spawnWorker('infer', configFile);
      children.push(first);
      // Send while the first worker runs, and kill it part way through.
      const posting = postAll(engine.http!.url, dicoms);
      const inferDone = async (): Promise<number> =>
        (await engine.queues.infer.getJobCounts('completed')).completed ?? 0;
      await waitFor('the first worker to score 100 ECGs', async () => (await inferDone()) >= 100, 90_000);
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      const atKill = await engine.queues.infer.getJobCounts('completed', 'active');
      expect(atKill.completed).toBeLessThan(total);
      // Jobs the dead worker held stay active until the stalled-job check hands them to the second worker.
      expect(atKill.active).toBeGreaterThan(0);

      const second = spawnWorker('infer', configFile);
      children.push(second);
      const ids = await posting;
      expect(new Set(ids).size).toBe(total);
      // Poll Redis (cheap), not the EHR: searching the in-memory EHR while it writes would slow it down.
      const writeDone = async (): Promise<number> =>
        (await engine.queues.write.getJobCounts('completed')).completed ?? 0;
      await waitFor(`${total} write jobs done`, async () => (await writeDone()) >= total, 180_000);
      // Let any late duplicate show up before counting.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const assessments = await resources<RiskAssessment>(ehr, 'RiskAssessment');
      expect(assessments).toHaveLength(total);
      expect(new Set(assessments.map((ra) => ra.identifier?.[0]?.value)).size).toBe(total);
      expect(await resources(ehr, 'Observation?code=34534-8')).toHaveLength(total);
      const failed = await Promise.all([engine.queues.infer.getFailedCount(), engine.queues.write.getFailedCount()]);
      expect(failed).toEqual([0, 0]);
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
      expect(second.exitCode).toBe(0);
    });
  },
);
