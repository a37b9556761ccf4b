import type { AuditFact } from '@ecgcad/fhir-writer';
import { UnrecoverableError, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { closeQueues, openQueues } from '../redis.js';
import { DASHBOARD_PATH, queueDashboard, readOnlyQueues, withoutExternalAssets } from './plugin.js';

describe('withoutExternalAssets', () => {
  it("cuts bull-board's Google Fonts stylesheet and any script from another origin, keeps its own assets", () => {
    const html = [
      '<link href="https://fonts.googleapis.com/css2?family=IBM+Plex+Sans" rel="stylesheet">',
      '<link rel="preconnect" href="//fonts.gstatic.com">',
      '<link href="static/css/main.css" rel="stylesheet">',
      '<script src="https://cdn.example.org/x.js"></script>',
      '<script defer src="static/js/main.js"></script>',
    ].join('\n');
    const out = withoutExternalAssets(html);
    expect(out).not.toMatch(/googleapis|gstatic|cdn\.example/);
    expect(out).toContain('static/css/main.css');
    expect(out).toContain('static/js/main.js');
  });
});

describe('readOnlyQueues', () => {
  it("turns every queue of bull-board's list read-only, without retries", () => {
    const out = JSON.parse(
      readOnlyQueues(JSON.stringify({ queues: [{ name: 'ecg.write', readOnlyMode: false, allowRetries: true }] })),
    );
    expect(out.queues[0]).toEqual({
      name: 'ecg.write',
      readOnlyMode: true,
      allowRetries: false,
      allowCompletedRetries: false,
    });
  });
});

describe('queueDashboard (fastify inject, real Redis)', () => {
  const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const prefix = `{ecgcad-test-dashboard-plugin-${process.pid}-${Date.now()}}`;
  const queues = openQueues(connection, prefix);
  const facts: AuditFact[] = [];
  const app = Fastify();
  const OPERATOR = 'Bearer operator-token-0123456789';
  const VIEWER = 'Bearer viewer-token-0123456789ab';

  beforeAll(async () => {
    await app.register(queueDashboard, {
      prefix: DASHBOARD_PATH,
      queues,
      auth: {
        users: [
          { name: 'olga', role: 'operator', token: 'operator-token-0123456789' },
          { name: 'vic', role: 'viewer', token: 'viewer-token-0123456789ab' },
        ],
      },
      audit: {
        record: async (fact) => {
          facts.push(fact);
        },
      },
      logger: createLogger('silent'),
    });
    await app.ready();
    // Two dead-lettered infer jobs and one that is still waiting.
    for (const id of ['f1', 'f2']) {
      await queues.infer.add('infer', { ecgId: `ecg-${id}`, payloadKey: `p-${id}`, receivedAt: 'now' }, { jobId: id });
    }
    const worker = new Worker(
      'ecg.infer',
      async () => {
        throw new UnrecoverableError('PERMANENT: test');
      },
      { connection, prefix },
    );
    let failed = 0;
    await new Promise<void>((resolve) =>
      worker.on('failed', () => {
        failed += 1;
        if (failed === 2) resolve();
      }),
    );
    await worker.close();
    await queues.infer.add('infer', { ecgId: 'ecg-w', payloadKey: 'p-w', receivedAt: 'now' }, { jobId: 'w1' });
  });

  afterAll(async () => {
    await app.close();
    for (const queue of Object.values(queues)) await queue.obliterate({ force: true });
    await closeQueues(queues);
    connection.disconnect();
  });

  const put = (url: string, authorization?: string) =>
    app.inject({ method: 'PUT', url: `${DASHBOARD_PATH}${url}`, headers: authorization ? { authorization } : {} });

  it('401 with a Basic challenge without credentials, even on loopback once users are configured', async () => {
    const response = await app.inject({ method: 'GET', url: DASHBOARD_PATH });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Basic realm="ecgcad ops"/);
    const page = await app.inject({ method: 'GET', url: DASHBOARD_PATH, headers: { authorization: VIEWER } });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toMatch(/fonts\.googleapis/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
  });

  it('refuses a viewer replay and every other change; 404 for an unknown queue, 409 for a job not failed', async () => {
    expect((await put('/api/queues/ecg.infer/f1/retry', VIEWER)).statusCode).toBe(403);
    expect((await put('/api/queues/ecg.infer/retry/failed', VIEWER)).statusCode).toBe(403);
    expect((await put('/api/queues/ecg.infer/f1/clean', OPERATOR)).statusCode).toBe(403);
    expect((await put('/api/queues/ecg.infer/pause', OPERATOR)).statusCode).toBe(403);
    expect((await put('/api/queues/ecg.infer/retry/completed', OPERATOR)).statusCode).toBe(403);
    expect((await put('/api/queues/nope/f1/retry', OPERATOR)).statusCode).toBe(404);
    expect((await put('/api/queues/ecg.infer/w1/retry', OPERATOR)).statusCode).toBe(409);
    expect((await put('/api/queues/ecg.infer/missing/retry', OPERATOR)).statusCode).toBe(404);
    expect(await queues.infer.getJobState('f1')).toBe('failed');
    expect(await queues.infer.isPaused()).toBe(false);
    expect(facts).toEqual([]);
  });

  it("an operator's retry-all replays the whole failed set, one audit record per job, before the answer", async () => {
    const response = await put('/api/queues/ecg.infer/retry/failed', OPERATOR);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ retried: 2, skipped: 0 });
    expect(await queues.infer.getJobState('f1')).toBe('waiting');
    expect(await queues.infer.getJobState('f2')).toBe('waiting');
    const replays = facts.map((f) => (f.kind === 'replayed' ? [f.queue, f.jobId, f.ecgId, f.operator.name] : []));
    expect(replays.sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual([
      ['ecg.infer', 'f1', 'ecg-f1', 'olga (ops dashboard)'],
      ['ecg.infer', 'f2', 'ecg-f2', 'olga (ops dashboard)'],
    ]);
  });
});
