/**
 * The audit trail end to end, on real Redis, dcmtk storescu and the test EHR: a C-STORE receipt, an HTTP POST, a
 * folder drop, a refusal, the writes and a dead-letter replay each leave an R4-valid AuditEvent that says who,
 * what and when, in the JSON lines sink. A failing sink (a file sink whose folder cannot be made, the EHR answering
 * 503) loses nothing: events stay in Redis and are delivered, in order and once, when the sink is back.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import {
  type AuditEventResource,
  AuditTrail,
  createLogger,
  FhirAuditSink,
  JsonLinesAuditSink,
  type QueuedEngine,
  replayDeadLetters,
} from '@ecgcad/engine';
import { AUDIT_SYSTEMS, FhirClient, startTestEhr, structuralIssues, type TestEhr } from '@ecgcad/fhir-writer';
import { apiKeyId, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  dropPrefix,
  REDIS_URL,
  resources,
  run,
  startTestEngine,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';

const readEvents = async (path: string): Promise<AuditEventResource[]> => {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AuditEventResource);
};
const kindOf = (e: AuditEventResource) => e.subtype?.find((c) => c.system === AUDIT_SYSTEMS.ecgcadEvent)?.code;
const feedOf = (e: AuditEventResource) =>
  e.subtype?.find((c) => c.system === AUDIT_SYSTEMS.ecgcadEvent && c.code?.startsWith('feed-'))?.code;
const ecgOf = (e: AuditEventResource) => e.entity?.[0]?.what?.identifier?.value;

describe('audit trail through the queued engine (JSON lines sink)', () => {
  let ehr: TestEhr;
  let engine: QueuedEngine & { tmp: string };
  let folder: string;
  let auditFile: string;
  const prefix = uniquePrefix('audit');

  beforeAll(async () => {
    ehr = await startTestEhr();
    folder = await mkdtemp(join(tmpdir(), 'ecgcad-audit-drop-'));
    auditFile = join(await mkdtemp(join(tmpdir(), 'ecgcad-audit-')), 'trail', 'audit.jsonl');
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      folder,
      overrides: [
        { path: ['audit', 'file'], value: auditFile },
        { path: ['audit', 'intervalMs'], value: 100 },
        { path: ['retry', 'attempts'], value: 1 },
      ],
    });
  });

  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  it('records who, what and when for receipts over every feed, refusals, writes and replays', async () => {
    const started = new Date().toISOString();
    // C-STORE from calling AE CART7.
    const dcm = join(engine.tmp, 'audit-cstore.dcm');
    await writeFile(dcm, writeDicomEcg({ ...synthesizeEcg({ seed: 71, fast: true }), id: 'audit-cstore-1' }));
    await run('storescu', ['-aet', 'CART7', '-aec', 'ECGCAD', '127.0.0.1', String(engine.dimse!.port), dcm]);
    // HTTP POST with the API key.
    const posted = await fetch(`${engine.http!.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', 'x-api-key': API_KEY },
      body: writeAecg({ ...synthesizeEcg({ seed: 72, fast: true }), id: 'audit-http-1' }),
    });
    expect(posted.status).toBe(202);
    const httpId = ((await posted.json()) as { id: string }).id;
    // A refusal: bytes that are no ECG.
    const refused = await fetch(`${engine.http!.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-api-key': API_KEY },
      body: 'this is not an ECG at all',
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    // Refused before any payload: no API key (401), and an association to a called AE title that is not ours.
    const anonymous = await fetch(`${engine.http!.url}/ecg`, { method: 'POST', body: 'x' });
    expect(anonymous.status).toBe(401);
    await run('storescu', ['-aet', 'CART7', '-aec', 'NOTOURS', '127.0.0.1', String(engine.dimse!.port), dcm]).catch(
      () => undefined, // storescu exits non-zero on an association reject
    );
    // A folder drop.
    await writeFile(
      join(folder, 'drop-1.xml'),
      writeAecg({ ...synthesizeEcg({ seed: 73, fast: true }), id: 'audit-folder-1' }),
    );

    await waitFor('three writes and their audit events', async () => {
      const events = await readEvents(auditFile);
      return events.filter((e) => kindOf(e) === 'written').length >= 3 ? events : undefined;
    });
    const events = await readEvents(auditFile);
    for (const event of events) {
      expect(structuralIssues(event)).toEqual([]);
      expect(event.recorded >= started).toBe(true);
      expect(event.period?.start).toBeDefined();
    }
    const received = events.filter((e) => kindOf(e) === 'received');
    const cstore = received.find((e) => feedOf(e) === 'feed-cstore')!;
    expect(cstore.type?.code).toBe('110104');
    expect(cstore.agent[0]?.who?.identifier?.value).toBe('CART7');
    expect(cstore.agent[0]?.network?.address).toMatch(/127\.0\.0\.1/);
    expect(ecgOf(cstore)).toMatch(/^[0-9.]+$/); // the SOP Instance UID
    const http = received.find((e) => feedOf(e) === 'feed-http')!;
    expect(http.agent[0]?.who?.identifier).toEqual({ system: AUDIT_SYSTEMS.apiKeyId, value: apiKeyId(API_KEY) });
    expect(ecgOf(http)).toBe(httpId);
    const dropped = received.find((e) => feedOf(e) === 'feed-folder')!;
    expect(dropped.agent[0]?.who?.display).toBe(`drop folder ${folder}`);
    const refusal = events.find((e) => kindOf(e) === 'refused')!;
    expect(refusal.outcome).toBe('4');
    expect(refusal.outcomeDesc).toMatch(/^[A-Z_]+: /);
    expect(refusal.agent[0]?.who?.identifier?.value).toBe(apiKeyId(API_KEY));
    const refusals = events.filter((e) => kindOf(e) === 'refused').map((e) => e.outcomeDesc);
    expect(refusals).toContain('UNAUTHENTICATED: no valid API key or client certificate');
    const rejectedAssociation = events.find((e) => e.outcomeDesc?.startsWith('AE_NOT_RECOGNIZED'))!;
    expect(rejectedAssociation.agent[0]?.who?.identifier?.value).toBe('CART7');
    expect(rejectedAssociation.agent[0]?.network?.address).toMatch(/127\.0\.0\.1/);
    const written = events.filter((e) => kindOf(e) === 'written');
    expect(written.every((e) => e.outcome === '0' && e.agent[1]?.network?.address === ehr.url)).toBe(true);
    expect(written.map(ecgOf)).toContain(httpId);
    expect(await resources(ehr, 'AuditEvent')).toHaveLength(0); // the file sink: nothing posted to the EHR

    // A write the EHR refuses for good is audited as failed; its replay is audited too.
    ehr.faults.failNext(1, { status: 400 });
    const again = await fetch(`${engine.http!.url}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', 'x-api-key': API_KEY },
      body: writeAecg({ ...synthesizeEcg({ seed: 74, fast: true }), id: 'audit-fail-1' }),
    });
    const failId = ((await again.json()) as { id: string }).id;
    await waitFor('a failed write event', async () =>
      (await readEvents(auditFile)).some((e) => kindOf(e) === 'written' && e.outcome === '8' && ecgOf(e) === failId),
    );
    const trail = engine.audit!;
    const replayed = await replayDeadLetters(
      engine.queues,
      ['write'],
      { all: true },
      {
        onReplay: (r) =>
          void trail.record({
            kind: 'replayed',
            at: new Date().toISOString(),
            queue: r.queue,
            jobId: r.jobId,
            ...(r.ecgId ? { ecgId: r.ecgId } : {}),
            operator: { name: 'test operator' },
          }),
      },
    );
    expect(replayed).toHaveLength(1);
    await waitFor('the replay and the written events', async () => {
      const all = await readEvents(auditFile);
      const replay = all.find((e) => kindOf(e) === 'replayed');
      const ok = all.some((e) => kindOf(e) === 'written' && e.outcome === '0' && ecgOf(e) === failId);
      return replay && ok ? replay : undefined;
    });
    const replay = (await readEvents(auditFile)).find((e) => kindOf(e) === 'replayed')!;
    expect(replay.agent[0]?.who?.display).toBe('test operator');
    expect(ecgOf(replay)).toBe(failId);
    expect(structuralIssues(replay)).toEqual([]);
  }, 90_000);
});

describe('a failing audit sink loses no event (real Redis)', () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefixes: string[] = [];
  let ehr: TestEhr;
  const logger = createLogger('silent');
  const fact = (i: number) =>
    ({
      kind: 'received',
      feed: 'http',
      at: new Date().toISOString(),
      sender: { address: '10.0.0.1' },
      ecgId: `ecg-${i}`,
    }) as const;

  beforeAll(async () => {
    ehr = await startTestEhr();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(prefix);
    redis.disconnect();
    await ehr?.close();
  });

  it('a file sink that cannot write keeps the events in Redis; once it can, each is written once, in order', async () => {
    const prefix = uniquePrefix('audit-file');
    prefixes.push(prefix);
    const dir = await mkdtemp(join(tmpdir(), 'ecgcad-audit-'));
    const blocker = join(dir, 'trail');
    await writeFile(blocker, 'a file where the folder should be');
    const path = join(blocker, 'audit.jsonl');
    const trail = new AuditTrail({ redis, prefix, sink: new JsonLinesAuditSink(path), logger, batch: 40 });
    for (let i = 0; i < 250; i++) await trail.record(fact(i));
    expect(await trail.deliverPending()).toBe(0);
    expect(await trail.pending()).toBe(250);
    await rm(blocker);
    expect(await trail.deliverPending()).toBe(250);
    expect(await trail.pending()).toBe(0);
    const events = await readEvents(path);
    expect(events.map(ecgOf)).toEqual(Array.from({ length: 250 }, (_, i) => `ecg-${i}`));
    await trail.close();
  });

  it('an EHR sink answering 503 keeps the events; they reach the EHR as AuditEvents when it is back', async () => {
    const prefix = uniquePrefix('audit-ehr');
    prefixes.push(prefix);
    const sink = new FhirAuditSink(new FhirClient({ baseUrl: ehr.url }));
    const trail = new AuditTrail({ redis, prefix, sink, logger, batch: 10, intervalMs: 100 });
    ehr.faults.failFor(1500);
    for (let i = 0; i < 25; i++) await trail.record(fact(i));
    expect(await trail.deliverPending()).toBe(0);
    expect(await trail.pending()).toBe(25);
    trail.start();
    // Delivered (the EHR has them) and then trimmed from Redis.
    await waitFor('the events delivered and trimmed', async () => (await trail.pending()) === 0, 20_000);
    const stored = await resources(ehr, 'AuditEvent');
    expect(stored).toHaveLength(25);
    expect(stored.every((e) => e.resourceType === 'AuditEvent')).toBe(true);
    await trail.close();
  });

  it('two processes delivering at once deliver each event once', async () => {
    const prefix = uniquePrefix('audit-lock');
    prefixes.push(prefix);
    const path = join(await mkdtemp(join(tmpdir(), 'ecgcad-audit-')), 'audit.jsonl');
    const a = new AuditTrail({ redis, prefix, sink: new JsonLinesAuditSink(path), logger, batch: 7 });
    const b = new AuditTrail({ redis, prefix, sink: new JsonLinesAuditSink(path), logger, batch: 7 });
    for (let i = 0; i < 60; i++) await (i % 2 ? a : b).record(fact(i));
    await Promise.all([a.deliverPending(), b.deliverPending()]);
    await a.deliverPending();
    expect((await readEvents(path)).map(ecgOf)).toEqual(Array.from({ length: 60 }, (_, i) => `ecg-${i}`));
  });
});
