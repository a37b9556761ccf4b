/**
 * The feed-only process: `ecgcad serve --stages none` (the built CLI) takes ECGs over C-STORE and POST /ecg and acks
 * each once its job is durable in Redis, runs no stage itself, and a stage worker elsewhere on the same Redis picks
 * the jobs up (the feeds decode and queue for inference; see docs/OPERATIONS.md "Flow and guarantees"). Needs the built CLI (`npx turbo run build`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUEUE_NAMES } from '@ecgcad/ecg';
import type { QueuedEngine } from '@ecgcad/engine';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  dropPrefix,
  REDIS_URL,
  startTestEngine,
  storescu,
  syntheticDicoms,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';

const CLI = fileURLToPath(new URL('../packages/engine/dist/cli.js', import.meta.url));
const built = existsSync(CLI);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe.skipIf(!built)(`ecgcad serve --stages none (${built ? 'built CLI' : 'CLI not built'})`, () => {
  const prefix = uniquePrefix('feed-only');
  let feed: ChildProcess | undefined;
  let worker: QueuedEngine | undefined;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const infer = new Queue(QUEUE_NAMES.infer, { connection: redis, prefix });
  const write = new Queue(QUEUE_NAMES.write, { connection: redis, prefix });

  afterAll(async () => {
    if (feed && feed.exitCode === null) feed.kill('SIGKILL');
    await worker?.close();
    await infer.close();
    await write.close();
    redis.disconnect();
    await dropPrefix(prefix);
  });

  it('acks each ECG with its job durable in Redis, runs no stage, and a worker elsewhere takes the jobs', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'ecgcad-feed-only-'));
    const [httpPort, dimsePort] = [await freePort(), await freePort()];
    const log: string[] = [];
    feed = spawn(process.execPath, [CLI, 'serve', '--stages', 'none'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        ECGCAD_CONFIG: '',
        ECGCAD_REDIS_PREFIX: prefix,
        ECGCAD_HTTP_HOST: '127.0.0.1',
        ECGCAD_HTTP_PORT: String(httpPort),
        ECGCAD_DIMSE_HOST: '127.0.0.1',
        ECGCAD_DIMSE_PORT: String(dimsePort),
        ECGCAD_API_KEYS: API_KEY,
        ECGCAD_REJECTED_DIR: join(tmp, 'rejected'),
        ECGCAD_OUT: join(tmp, 'out'),
        ECGCAD_LOG_LEVEL: 'warn',
      },
    });
    feed.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    const url = `http://127.0.0.1:${httpPort}`;
    await waitFor(`the feed-only process (${log.join('')})`, async () => {
      const response = await fetch(`${url}/readyz`).catch(() => undefined);
      return response?.status === 200;
    });

    const dicoms = syntheticDicoms(6, prefix.slice(-9, -1));
    const files: string[] = [];
    for (const [i, bytes] of dicoms.slice(0, 4).entries()) {
      const path = join(tmp, `ecg-${i}.dcm`);
      await writeFile(path, bytes);
      files.push(path);
    }
    // storescu returns once every C-STORE is answered: the acks came back.
    await storescu(dimsePort, files);
    for (const body of dicoms.slice(4)) {
      const response = await fetch(`${url}/ecg`, {
        method: 'POST',
        headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
        body: Buffer.from(body),
      });
      expect(response.status).toBe(202);
    }
    // Right after the acks: six decoded ECGs waiting for inference, none taken (no stage runs in that process).
    expect(await infer.getJobCountByTypes('wait', 'prioritized')).toBe(6);
    expect(await infer.getJobCountByTypes('active', 'completed', 'failed')).toBe(0);

    // An infer worker in another process (here: this one) on the same Redis takes them on to the write queue.
    worker = await startTestEngine({ prefix, fhirUrl: 'http://127.0.0.1:9', stages: ['infer'], feeds: false });
    // Each infer job's write job is added before the infer job itself is marked completed: wait for both.
    await waitFor('the infer worker to take every job', async () => {
      return (
        (await write.getJobCountByTypes('wait', 'prioritized')) === 6 &&
        (await infer.getJobCountByTypes('completed')) === 6
      );
    });
    expect(await infer.getJobCountByTypes('wait', 'prioritized', 'active', 'failed')).toBe(0);

    feed.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => feed?.once('exit', resolve));
    expect(code).toBe(0);
  });
});
