/**
 * Permanent faults and the dead-letter set, on real Redis: a Bundle the EHR refuses (4xx: the patient it references
 * is not there) fails at once, without retries, with its reason; status, `dlq list` and `dlq replay` work on it; after
 * the cause is fixed a replay writes it. Also: the engine refuses a Redis whose maxmemory-policy is not noeviction.
 */
import { spawn } from 'node:child_process';
import { synthesizeEcg } from '@ecgcad/ecg';
import {
  checkEvictionPolicy,
  createLogger,
  ecgStatus,
  listDeadLetters,
  type QueuedEngine,
  replayDeadLetters,
} from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { writeDicomEcg } from '@ecgcad/ingest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, dropPrefix, resources, startTestEngine, uniquePrefix, waitFor } from './pipeline-support.js';

describe('dead-letter set', () => {
  let ehr: TestEhr;
  let engine: QueuedEngine & { tmp: string };
  const prefix = uniquePrefix('dlq');

  beforeAll(async () => {
    ehr = await startTestEhr();
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      // Conditional patient references: the EHR refuses a Bundle whose patient it does not know (400).
      overrides: [{ path: ['fhir', 'patientReference'], value: 'conditional' }],
    });
  });

  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  it('a 4xx from the EHR dead-letters the write job at once with its reason; replay after the fix writes it', async () => {
    const ecg = { ...synthesizeEcg({ seed: 4242 }), id: 'dlq-test-ecg-1' };
    const response = await fetch(`${engine.http!.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
      body: Buffer.from(writeDicomEcg(ecg)),
    });
    expect(response.status).toBe(202);
    // The DICOM writer turns the record id into a SOP Instance UID: the receipt names the id the engine uses.
    const ecgId = ((await response.json()) as { id: string }).id;
    const status = await waitFor('the write job to fail', async () => {
      const s = await ecgStatus(engine.queues, ecgId);
      return s.status === 'failed' ? s : undefined;
    });
    expect(status).toMatchObject({ status: 'failed', stage: 'write', attempts: 1 });
    expect(status.reason).toMatch(/^PERMANENT: .*400/);

    const letters = await listDeadLetters(engine.queues, ['infer', 'write']);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ queue: 'ecg.write', ecgId, attempts: 1 });

    // Fix the cause: the EHR gets the patient. Then replay.
    const identifier = ecg.patient.identifier!;
    await ehr.addPatient({
      system: ecg.patient.identifierSystem ?? 'https://ecgcad.org/fhir/sid/patient-id',
      value: identifier,
    });
    const replayed = await replayDeadLetters(engine.queues, ['write'], { all: true });
    expect(replayed).toHaveLength(1);
    await waitFor(
      'the replayed job to be written',
      async () => (await ecgStatus(engine.queues, ecgId)).status === 'written',
    );
    expect(await resources(ehr, 'RiskAssessment')).toHaveLength(1);
    expect(await listDeadLetters(engine.queues, ['infer', 'write'])).toHaveLength(0);
  });
});

describe('Redis eviction policy check', () => {
  it('refuses a Redis with allkeys-lru, accepts noeviction', async () => {
    const port = 6900 + Math.floor(Math.random() * 90);
    const server = spawn('redis-server', ['--port', String(port), '--save', '', '--maxmemory-policy', 'allkeys-lru'], {
      stdio: 'ignore',
    });
    const redis = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    try {
      await waitFor('redis-server', async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000);
      const logger = createLogger('silent');
      await expect(checkEvictionPolicy(redis, 'refuse', logger)).rejects.toThrow(/allkeys-lru.*noeviction/);
      await expect(checkEvictionPolicy(redis, 'warn', logger)).resolves.toBe('allkeys-lru');
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
      await expect(checkEvictionPolicy(redis, 'refuse', logger)).resolves.toBe('noeviction');
    } finally {
      redis.disconnect();
      server.kill('SIGKILL');
    }
  });
});
