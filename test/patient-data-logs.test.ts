/**
 * Patient data never reaches the logs, the rejected-store metadata, the audit trail or the ops endpoints. ECGs whose
 * patient name, id and birth date are unique random strings go through every feed (C-STORE with dcmtk storescu,
 * STOW-RS, HTTP POST /ecg, the watched folder), accepted and refused (truncated files and a clashing resend that
 * still carry the strings), with an EHR that fails (a transient 503 outage, and a 400 for a patient it does not
 * know, whose message the EHR builds from the identifier). Then every captured log line (the engine's pino output
 * at trace level, and anything written to stdout/stderr), every rejected-store and folder reason JSON, the audit
 * JSON lines and the answers of /metrics, /readyz, /healthz and /ecg/:id/status are searched for the strings.
 * Synthetic ECG writers only: no ../shared needed.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import { ecgStatus, loadConfig, type QueuedEngine, startQueuedEngine } from '@ecgcad/engine';
import { startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, dropPrefix, REDIS_URL, resources, run, stowBody, uniquePrefix, waitFor } from './pipeline-support.js';

const token = (prefix: string) => `${prefix}${randomBytes(6).toString('hex').toUpperCase()}`;

/** A patient whose every field is a string no other test, log or code could produce. */
function uniquePatient() {
  const year = 1920 + randomInt(60);
  const month = 1 + randomInt(12);
  const day = 1 + randomInt(28);
  const birthDate = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  const family = token('Qzx');
  const given = token('Vwk');
  const identifier = token('PID');
  return {
    patient: { identifier, name: `${family}^${given}`, birthDate, sex: 'female' as const },
    /** What must never show: each name part, the id, the birth date as ISO and as DICOM DA. */
    needles: [family, given, identifier, birthDate, birthDate.replace(/-/g, '')],
  };
}

describe('no patient data in logs, rejected metadata, audit trail or ops answers', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const stdWrites: string[] = [];
  const originalWrites = {
    out: process.stdout.write.bind(process.stdout),
    err: process.stderr.write.bind(process.stderr),
  };
  let ehr: TestEhr;
  let engine: QueuedEngine;
  let tmp: string;
  let folder: string;
  const prefix = uniquePrefix('phi-scan');
  const known = uniquePatient(); // the EHR knows this patient: its ECGs are written
  const unknown = uniquePatient(); // the EHR does not: it refuses the write with a 400 naming the identifier
  const needles = [...known.needles, ...unknown.needles];
  const ecgIds: string[] = [];

  const ecgOf = (seed: number, id: string, who = known): Ecg => ({
    ...synthesizeEcg({ seed, fast: true }),
    id,
    patient: { ...who.patient, identifierSystem: 'urn:oid:1.2.3.999' },
  });

  beforeAll(async () => {
    const capture =
      (into: string[], original: typeof process.stdout.write) =>
      (chunk: unknown, ...rest: unknown[]): boolean => {
        into.push(String(chunk));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      };
    process.stdout.write = capture(stdWrites, originalWrites.out) as typeof process.stdout.write;
    process.stderr.write = capture(stdWrites, originalWrites.err) as typeof process.stderr.write;
    ehr = await startTestEhr();
    await ehr.addPatient({ system: 'urn:oid:1.2.3.999', value: known.patient.identifier });
    tmp = await mkdtemp(join(tmpdir(), 'ecgcad-phi-'));
    folder = join(tmp, 'drop');
    const config = loadConfig({
      env: {},
      overrides: [
        { path: ['redis', 'url'], value: REDIS_URL },
        { path: ['redis', 'prefix'], value: prefix },
        { path: ['fhir', 'url'], value: ehr.url },
        { path: ['fhir', 'allowInsecureHttp'], value: true },
        // Conditional references: the EHR resolves the patient by identifier, and refuses one it does not know.
        { path: ['fhir', 'patientReference'], value: 'conditional' },
        { path: ['http', 'port'], value: 0 },
        { path: ['http', 'host'], value: '127.0.0.1' },
        { path: ['http', 'apiKeys'], value: [API_KEY] },
        { path: ['dimse', 'port'], value: 0 },
        { path: ['dimse', 'host'], value: '127.0.0.1' },
        { path: ['rejectedDir'], value: join(tmp, 'rejected') },
        { path: ['folder', 'dir'], value: folder },
        { path: ['audit', 'file'], value: join(tmp, 'audit.jsonl') },
        { path: ['audit', 'intervalMs'], value: 100 },
        { path: ['retry', 'baseDelayMs'], value: 100 },
        { path: ['retry', 'attempts'], value: 4 },
        { path: ['log', 'level'], value: 'trace' },
      ],
    });
    engine = await startQueuedEngine({
      config,
      stages: ['ingest', 'infer', 'write'],
      feeds: true,
      logger: pino({ level: 'trace', base: { pid: process.pid } }, sink),
    });
  });

  afterAll(async () => {
    process.stdout.write = originalWrites.out;
    process.stderr.write = originalWrites.err;
    await engine?.close();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  it('finds none of the unique strings anywhere an operator or a log collector can see', async () => {
    const url = engine.http!.url;
    const post = (body: Uint8Array | string, contentType: string) =>
      fetch(`${url}/ecg`, { method: 'POST', headers: { 'content-type': contentType, 'x-api-key': API_KEY }, body });
    const accepted = async (response: Response) => {
      expect(response.status).toBe(202);
      ecgIds.push(((await response.json()) as { id: string }).id);
    };
    // The EHR is down for the first writes: they are retried (and logged as retries).
    ehr.faults.failNext(2, { status: 503 });

    // C-STORE: one accepted, then a different recording under the same SOP Instance UID (refused: id clash).
    const dcmA = join(tmp, 'a.dcm');
    const dcmB = join(tmp, 'b.dcm');
    const dicomA = writeDicomEcg(ecgOf(81, 'phi-cstore-1'));
    await writeFile(dcmA, dicomA);
    await writeFile(dcmB, writeDicomEcg(ecgOf(82, 'phi-cstore-1')));
    for (const needle of known.needles.slice(0, 3)) expect(Buffer.from(dicomA).includes(needle)).toBe(true);
    await run('storescu', ['-aet', 'PHICART', '-aec', 'ECGCAD', '127.0.0.1', String(engine.dimse!.port), dcmA]);
    await run('storescu', ['-aet', 'PHICART', '-aec', 'ECGCAD', '127.0.0.1', String(engine.dimse!.port), dcmB]).catch(
      () => undefined, // storescu exits non-zero when the SCP refuses the instance
    );

    // STOW-RS: one accepted, one truncated (its header still carries the patient).
    const stowGood = writeDicomEcg(ecgOf(83, 'phi-stow-1'));
    const stowBad = writeDicomEcg(ecgOf(84, 'phi-stow-2')).subarray(0, 3000);
    for (const needle of known.needles.slice(0, 3)) expect(Buffer.from(stowBad).includes(needle)).toBe(true);
    const { body, contentType } = stowBody([stowGood, stowBad]);
    const stow = await fetch(`${url}/dicomweb/studies`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-api-key': API_KEY, accept: 'application/dicom+json' },
      body,
    });
    expect(stow.status).toBe(202);

    // HTTP POST /ecg: DICOM and aECG accepted (one for the patient the EHR does not know), a truncated aECG refused.
    await accepted(await post(writeDicomEcg(ecgOf(85, 'phi-http-1')), 'application/dicom'));
    await accepted(await post(writeAecg(ecgOf(86, 'phi-http-2', unknown)), 'application/xml'));
    const aecgBad = writeAecg(ecgOf(87, 'phi-http-3'));
    const refused = await post(aecgBad.slice(0, Math.floor(aecgBad.length * 0.6)), 'application/xml');
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(await refused.text()).not.toContain(known.patient.identifier);

    // Folder: an aECG taken, a truncated one refused.
    await writeFile(join(folder, 'drop-ok.xml'), writeAecg(ecgOf(88, 'phi-folder-1')));
    const folderBad = writeAecg(ecgOf(89, 'phi-folder-2'));
    await writeFile(join(folder, 'drop-bad.xml'), folderBad.slice(0, Math.floor(folderBad.length * 0.5)));

    // Written: C-STORE, STOW, HTTP DICOM, folder (4); dead-lettered: the unknown patient's (400 from the EHR).
    await waitFor('four results in the EHR', async () => (await resources(ehr, 'RiskAssessment')).length >= 4, 90_000);
    const unknownId = ecgIds[1] as string;
    await waitFor(
      'the unknown patient to be dead-lettered',
      async () => (await ecgStatus(engine.queues, unknownId)).status === 'failed',
      30_000,
    );
    const failed = await ecgStatus(engine.queues, unknownId);
    expect(failed.reason).toMatch(/400/);
    await waitFor(
      'the folder to be handled',
      async () => (await readdir(join(folder, 'rejected'))).length >= 2,
      20_000,
    );
    await waitFor('the audit trail to be delivered', async () => (await engine.audit!.pending()) === 0);

    // What the EHR holds proves the data went through: the patient is there, by identifier.
    const patients = await resources(ehr, `Patient?identifier=${known.patient.identifier}`);
    expect(patients).toHaveLength(1);

    // Everything an operator or a log collector sees.
    const seen: Array<{ where: string; text: string }> = [];
    for (const line of lines) seen.push({ where: 'engine log', text: line });
    for (const text of stdWrites) seen.push({ where: 'stdout/stderr', text });
    const rejectedDir = join(tmp, 'rejected');
    for (const name of (await readdir(rejectedDir)).filter((n) => n.endsWith('.json'))) {
      seen.push({ where: `rejected ${name}`, text: await readFile(join(rejectedDir, name), 'utf8') });
    }
    for (const name of (await readdir(join(folder, 'rejected'))).filter((n) => n.endsWith('.reason.json'))) {
      seen.push({ where: `folder ${name}`, text: await readFile(join(folder, 'rejected', name), 'utf8') });
    }
    seen.push({ where: 'audit trail', text: await readFile(join(tmp, 'audit.jsonl'), 'utf8') });
    for (const path of ['/metrics', '/readyz', '/healthz']) {
      seen.push({ where: path, text: await (await fetch(`${url}${path}`)).text() });
    }
    const statusIds = [...ecgIds, '1.2.3.4.5.6.7.8.9'];
    for (const id of statusIds) {
      seen.push({
        where: `/ecg/${id}/status`,
        text: await (await fetch(`${url}/ecg/${encodeURIComponent(id)}/status`)).text(),
      });
    }
    // The engine did log the hand-overs and the refusals (so the scan covers them).
    expect(lines.some((l) => l.includes('ecg taken'))).toBe(true);
    expect(lines.some((l) => l.includes('refused'))).toBe(true);
    expect(seen.filter((s) => s.where.startsWith('rejected')).length).toBeGreaterThanOrEqual(3);
    expect(seen.some((s) => s.where.startsWith('/ecg/') && s.text.includes('"failed"'))).toBe(true);

    const hits = seen.flatMap(({ where, text }) =>
      needles.filter((needle) => text.includes(needle)).map((needle) => `${where}: ${needle}`),
    );
    expect(hits).toEqual([]);

    // The search does find the strings where they belong: the refused bytes the rejected store keeps.
    const kept = await Promise.all(
      (await readdir(rejectedDir)).filter((n) => n.endsWith('.bin')).map((n) => readFile(join(rejectedDir, n))),
    );
    expect(kept.some((bytes) => bytes.includes(known.patient.identifier))).toBe(true);
  }, 180_000);
});
