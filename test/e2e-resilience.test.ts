/**
 * Resilience of the queued pipeline, on a separate Redis server with AOF persistence (appendonly yes, appendfsync
 * everysec) that the test stops and restarts mid-run, and with the test EHR down for 30 s mid-run (fault switch).
 * In both cases nothing is lost and nothing is duplicated: every ECG ends with exactly one RiskAssessment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueuedEngine } from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import type { RiskAssessment } from '@medplum/fhirtypes';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  postAll,
  resources,
  run,
  startTestEngine,
  syntheticDicoms,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';

const port = 6400 + Math.floor(Math.random() * 500);
const redisUrl = `redis://127.0.0.1:${port}`;

/** Starts redis-server with AOF in `dir` and waits for PING. */
async function startRedis(dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
    { cwd: dir, stdio: 'ignore' },
  );
  const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await waitFor(
      'redis-server',
      async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      },
      10_000,
    );
  } finally {
    probe.disconnect();
  }
  return child;
}

describe('resilience: Redis restart and EHR outage mid-run', () => {
  let ehr: TestEhr;
  let engine: QueuedEngine & { tmp: string };
  let redis: ChildProcess | undefined;
  let dir: string;
  const prefix = uniquePrefix('resilience');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecgcad-redis-'));
    redis = await startRedis(dir);
    ehr = await startTestEhr();
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      redisUrl,
      overrides: [
        { path: ['workers', 'lockDurationMs'], value: 5000 },
        { path: ['workers', 'stalledIntervalMs'], value: 2000 },
      ],
    });
  });

  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    redis?.kill('SIGKILL');
  });

  /** Completed write jobs; undefined while Redis is away. */
  const written = async (): Promise<number | undefined> => {
    try {
      return (await engine.queues.write.getJobCounts('completed')).completed;
    } catch {
      return undefined;
    }
  };

  const expectExactlyOnce = async (total: number): Promise<void> => {
    const assessments = await resources<RiskAssessment>(ehr, 'RiskAssessment');
    expect(assessments).toHaveLength(total);
    expect(new Set(assessments.map((ra) => ra.identifier?.[0]?.value)).size).toBe(total);
    expect(await resources(ehr, 'Observation?code=34534-8')).toHaveLength(total);
    expect(await engine.queues.infer.getFailedCount()).toBe(0);
    expect(await engine.queues.write.getFailedCount()).toBe(0);
  };

  it('Redis stopped (SHUTDOWN) and restarted mid-run: nothing lost, nothing duplicated', async () => {
    const total = 200;
    const posting = postAll(engine.http!.url, syntheticDicoms(total, 'redis-restart'), 8);
    await waitFor('50 ECGs written', async () => ((await written()) ?? 0) >= 50, 60_000);
    // SHUTDOWN flushes the AOF; the redis-server process then exits.
    await run('redis-cli', ['-p', String(port), 'shutdown']).catch(() => undefined);
    const stopped = redis;
    if (stopped && stopped.exitCode === null) await new Promise((resolve) => stopped.once('exit', resolve));
    // While Redis is down, senders get 503 (postAll retries, as a sender would).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    redis = await startRedis(dir);
    const ids = await posting;
    expect(new Set(ids).size).toBe(total);
    await waitFor(`${total} ECGs written`, async () => ((await written()) ?? 0) >= total, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await expectExactlyOnce(total);
  });

  it('EHR down for 30 s mid-run: writes retry with backoff, then every ECG is written exactly once', async () => {
    const before = (await written()) ?? 0;
    const total = 100;
    ehr.faults.failFor(30_000, { status: 503 });
    const ids = await postAll(engine.http!.url, syntheticDicoms(total, 'ehr-outage'), 8);
    expect(new Set(ids).size).toBe(total);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await written()) ?? 0).toBe(before);
    await waitFor(`${total} more ECGs written`, async () => ((await written()) ?? 0) >= before + total, 150_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await expectExactlyOnce(before + total);
    const metrics = await (await fetch(`${engine.http!.url}/metrics`)).text();
    expect(metrics).toMatch(/ecgcad_jobs_total\{stage="write",outcome="retry"\} [1-9]/);
  }, 200_000);
});
