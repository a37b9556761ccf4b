/**
 * HTTP feeds through a real fastify server and a real HTTP client (fetch, node:https for mTLS). The tests post the
 * shared sample files where present, else files the project writes itself for the same roles, so the suite also
 * runs in a clone without ../shared.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEcg } from '../packages/ingest/src/decode.js';
// Imported by path, not through @ecgcad/ingest, so these tests do not depend on the rest of the package's exports.
import { httpFeedsPlugin } from '../packages/ingest/src/feeds/http-feeds.js';
import type { FeedOutcome } from '../packages/ingest/src/feeds/intake.js';
import { RejectedStore } from '../packages/ingest/src/rejected-store.js';
import { writeAecg } from '../packages/ingest/src/write-aecg.js';
import { writeDicomEcg } from '../packages/ingest/src/write-dicom.js';
import { dumpToDicom, recordingIntake, tempDir } from './feeds-support.js';
import { readSample, samplesPresent } from './support/samples.js';

const API_KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'second-key-fedcba9876543210';

const xml = (text: string): Uint8Array => new TextEncoder().encode(`<?xml version="1.0" encoding="UTF-8"?>\n${text}\n`);
/** The files the tests post: the real samples where present, else files written here for the same roles. */
const FILES = samplesPresent
  ? {
      dicom: readSample('dicom_mortara_el250_12lead.dcm'),
      otherDicom: readSample('dicom_gemarquette_maclab_hemodynamic_12ch.dcm'),
      aecg: readSample('aecg_hl7_2003_example.xml'),
      otherAecg: readSample('aecg_liryc_100hz_example.xml'),
      smallAecg: readSample('aecg_fda_minimum_1lead.xml'),
      aecgWithoutWaveform: readSample('aecg_fda_empty_no_waveform.xml'),
      philips: readSample('philips_sierraecg_1_03_129DYPRG.xml'),
    }
  : {
      dicom: writeDicomEcg(synthesizeEcg({ seed: 61, sampleRateHz: 1000 })),
      otherDicom: writeDicomEcg(synthesizeEcg({ seed: 62 }), { leads: 8 }),
      aecg: writeAecg(synthesizeEcg({ seed: 63 })),
      otherAecg: writeAecg(synthesizeEcg({ seed: 64, durationS: 4 })),
      smallAecg: writeAecg(synthesizeEcg({ seed: 65, durationS: 1 })),
      aecgWithoutWaveform: xml('<AnnotatedECG xmlns="urn:hl7-org:v3"><id root="2.25.1234"/></AnnotatedECG>'),
      philips: xml('<restingecgdata xmlns="http://www3.medical.philips.com"></restingecgdata>'),
    };
const synthetic = (bytes: Uint8Array) => decodeEcg(bytes, { feed: 'test' });
/** SOP Instance UIDs and class of the two DICOM files, and the first one's Study Instance UID. */
const DICOM_UID = samplesPresent ? '1.3.6.1.4.1.20029.40.20130125105919.5407.1.1' : synthetic(FILES.dicom).id;
const OTHER_DICOM_UID = samplesPresent ? '1.3.6.1.4.1.6018.3.999' : synthetic(FILES.otherDicom).id;
const OTHER_DICOM_SOP_CLASS = samplesPresent ? '1.2.840.10008.5.1.4.1.1.9.2.1' : '1.2.840.10008.5.1.4.1.1.9.1.1';
const DICOM_STUDY_UID = samplesPresent
  ? '1.3.76.13.65829.2.20130125082826.1072139.2'
  : (synthetic(FILES.dicom).source.studyInstanceUid as string);
const NO_WAVEFORM_DUMP = `(0008,0016) UI [1.2.840.10008.5.1.4.1.1.9.1.1]
(0008,0018) UI [1.2.826.0.1.3680043.9.9999.1.1]
(0008,0060) CS [ECG]
(0020,000d) UI [1.2.826.0.1.3680043.9.9999.2]
`;

/** Builds a multipart/related body the way DICOMweb clients do. */
function multipart(boundary: string, parts: { type: string; body: Uint8Array }[]): Uint8Array {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${part.type}\r\n\r\n`));
    chunks.push(Buffer.from(part.body));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return new Uint8Array(Buffer.concat(chunks));
}

describe(`HTTP feeds (${samplesPresent ? 'shared samples' : 'synthetic files: shared samples absent'})`, () => {
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  let rejected: RejectedStore;
  let noWaveform: Uint8Array;
  const { intake, taken, control } = recordingIntake();
  const outcomes: FeedOutcome[] = [];

  beforeAll(async () => {
    dir = await tempDir('http');
    rejected = await RejectedStore.open(join(dir, 'rejected'));
    noWaveform = new Uint8Array(await readFile(await dumpToDicom(dir, 'no-waveform', NO_WAVEFORM_DUMP)));
    app = Fastify();
    await app.register(httpFeedsPlugin, {
      intake,
      rejected,
      auth: { apiKeys: [API_KEY, OTHER_KEY] },
      limits: { maxBodyBytes: 1024 * 1024, multipart: { maxParts: 5 } },
      statusUrl: (id) => `/ecg/${encodeURIComponent(id)}`,
      onOutcome: (_feed, outcome) => outcomes.push(outcome),
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
  });

  const post = (path: string, body: Uint8Array | string, headers: Record<string, string>) =>
    fetch(`${base}${path}`, { method: 'POST', body, headers });

  describe('POST /ecg', () => {
    it('takes an aECG with an API key header and answers 202 with id, status URL and Location', async () => {
      const res = await post('/ecg', FILES.aecg, {
        'content-type': 'application/xml',
        'x-api-key': API_KEY,
      });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { id: string; status: string };
      expect(body.id).toBe(taken.at(-1)?.ecg.id);
      expect(body.status).toBe(`/ecg/${encodeURIComponent(body.id)}`);
      expect(res.headers.get('location')).toBe(body.status);
      expect(taken.at(-1)?.meta).toMatchObject({ feed: 'http', contentType: 'application/xml' });
      expect(taken.at(-1)?.ecg.sampleRateHz).toBe(500);
    });

    it('takes DICOM with `Authorization: ApiKey` and flags a re-send as duplicate', async () => {
      const headers = { 'content-type': 'application/dicom', authorization: `ApiKey ${OTHER_KEY}` };
      const first = await post('/ecg', FILES.dicom, headers);
      expect(first.status).toBe(202);
      expect(await first.json()).toEqual({ id: DICOM_UID, status: `/ecg/${DICOM_UID}` });
      const again = await post('/ecg', FILES.dicom, headers);
      expect(again.status).toBe(202);
      expect(await again.json()).toMatchObject({ id: DICOM_UID, duplicate: true });
    });

    it('refuses bad bodies with an OperationOutcome and keeps their bytes', async () => {
      const headers = { 'content-type': 'text/xml', 'x-api-key': API_KEY };
      const res = await post('/ecg', '<notAnEcg/>', headers);
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toMatch(/application\/fhir\+json/);
      const outcome = (await res.json()) as {
        resourceType: string;
        issue: { severity: string; code: string; diagnostics: string }[];
      };
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'not-supported' });
      const id = res.headers.get('x-ecgcad-rejected-id');
      const kept = await rejected.get(id!);
      expect(Buffer.from(kept!.bytes).toString()).toBe('<notAnEcg/>');
      expect(kept?.entry.reason.message).toBe(outcome.issue[0]?.diagnostics);

      const empty = await post('/ecg', FILES.aecgWithoutWaveform, headers);
      expect([400, 422]).toContain(empty.status);
      expect(((await empty.json()) as { issue: { code: string }[] }).issue[0]?.code).toMatch(/invalid|processing/);

      const philips = await post('/ecg', FILES.philips, headers);
      expect(philips.status).toBe(415);
      const dicomNoWave = await post('/ecg', noWaveform, { ...headers, 'content-type': 'application/dicom' });
      expect(dicomNoWave.status).toBeGreaterThanOrEqual(400);
      expect(dicomNoWave.status).toBeLessThan(500);
    });

    it('answers 401 without a valid key, before reading the body or calling intake', async () => {
      const before = taken.length;
      const none = await post('/ecg', FILES.smallAecg, { 'content-type': 'application/xml' });
      expect(none.status).toBe(401);
      expect(((await none.json()) as { issue: { code: string }[] }).issue[0]?.code).toBe('login');
      const wrong = await post('/ecg', FILES.smallAecg, {
        'content-type': 'application/xml',
        'x-api-key': `${API_KEY}x`,
      });
      expect(wrong.status).toBe(401);
      expect(taken.length).toBe(before);
    });

    it('answers 413 over the size limit and 415 for other media types', async () => {
      const big = new Uint8Array(1024 * 1024 + 10);
      const res = await post('/ecg', big, { 'content-type': 'application/dicom', 'x-api-key': API_KEY });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { issue: { code: string }[] }).issue[0]?.code).toBe('too-long');
      const json = await post('/ecg', '{"a":1}', { 'content-type': 'application/json', 'x-api-key': API_KEY });
      expect(json.status).toBe(415);
      expect(((await json.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    });

    it('answers 503 with Retry-After on a transient failure and keeps nothing as rejected', async () => {
      const before = (await rejected.list()).length;
      control.mode = 'transient';
      try {
        const res = await post('/ecg', FILES.otherAecg, {
          'content-type': 'application/hl7-v3+xml',
          'x-api-key': API_KEY,
        });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('2');
        expect(((await res.json()) as { issue: { code: string }[] }).issue[0]?.code).toBe('transient');
      } finally {
        control.mode = 'ok';
      }
      expect((await rejected.list()).length).toBe(before);
      expect(outcomes).toEqual(expect.arrayContaining(['accepted', 'refused', 'retry']));
    });
  });

  describe('STOW-RS POST /dicomweb/studies', () => {
    const stowHeaders = (boundary: string, quoted = true) => ({
      'content-type': quoted
        ? `multipart/related; type="application/dicom"; boundary="${boundary}"`
        : `multipart/related; type=application/dicom; boundary=${boundary}`,
      accept: 'application/dicom+json',
      'x-api-key': API_KEY,
    });

    it('stores the good parts and reports the bad one: 202 with Referenced and Failed SOP sequences', async () => {
      const boundary = 'stow-boundary-1';
      const body = multipart(boundary, [
        { type: 'application/dicom', body: FILES.dicom },
        { type: 'application/dicom', body: noWaveform },
        { type: 'application/dicom', body: FILES.otherDicom },
      ]);
      const res = await post('/dicomweb/studies', body, stowHeaders(boundary));
      expect(res.status).toBe(202);
      expect(res.headers.get('content-type')).toMatch(/application\/dicom\+json/);
      const json = (await res.json()) as Record<string, { vr: string; Value: Record<string, { Value?: unknown[] }>[] }>;
      const referenced = json['00081199']!.Value.map((item) => item['00081155']?.Value?.[0]);
      expect(referenced).toEqual([DICOM_UID, OTHER_DICOM_UID]);
      expect(json['00081199']!.Value[1]?.['00081150']?.Value).toEqual([OTHER_DICOM_SOP_CLASS]);
      const failed = json['00081198']!.Value;
      expect(failed).toHaveLength(1);
      expect(failed[0]?.['00081155']?.Value).toEqual(['1.2.826.0.1.3680043.9.9999.1.1']);
      expect([0xa900, 0xc000]).toContain(failed[0]?.['00081197']?.Value?.[0]);
      expect(res.headers.get('warning')).toMatch(/^299 ecgcad "/);
      const kept = (await rejected.list()).filter((e) => e.feed === 'stow');
      expect(kept).toHaveLength(1);
    });

    it('answers 200 when all are stored (unquoted parameters too), 409 when none', async () => {
      const boundary = 'b2';
      const ok = await post(
        '/dicomweb/studies',
        multipart(boundary, [{ type: 'application/dicom', body: FILES.dicom }]),
        stowHeaders(boundary, false),
      );
      expect(ok.status).toBe(200);
      expect(Object.keys((await ok.json()) as object)).toEqual(['00081199']);
      const bad = await post(
        '/dicomweb/studies',
        multipart(boundary, [
          { type: 'application/dicom', body: noWaveform },
          { type: 'application/dicom', body: new TextEncoder().encode('not dicom at all') },
        ]),
        stowHeaders(boundary),
      );
      expect(bad.status).toBe(409);
      const json = (await bad.json()) as Record<string, { Value: unknown[] }>;
      expect(json['00081198']?.Value).toHaveLength(2);
      expect(json['00081199']).toBeUndefined();
    });

    it('checks the study in the URL', async () => {
      const boundary = 'b3';
      const res = await post(
        '/dicomweb/studies/1.2.3.4.5',
        multipart(boundary, [{ type: 'application/dicom', body: FILES.dicom }]),
        stowHeaders(boundary),
      );
      expect(res.status).toBe(409);
      expect(res.headers.get('warning')).toMatch(/Study Instance UID/);
      const same = await post(
        `/dicomweb/studies/${DICOM_STUDY_UID}`,
        multipart(boundary, [{ type: 'application/dicom', body: FILES.dicom }]),
        stowHeaders(boundary),
      );
      expect(same.status).toBe(200);
    });

    it('answers 415 for another multipart type, 400 for a broken body, 413 over the limits', async () => {
      const boundary = 'b4';
      const body = multipart(boundary, [{ type: 'application/dicom', body: FILES.dicom }]);
      const wrongType = await post('/dicomweb/studies', body, {
        ...stowHeaders(boundary),
        'content-type': `multipart/related; type="application/dicom+json"; boundary=${boundary}`,
      });
      expect(wrongType.status).toBe(415);
      const truncated = await post('/dicomweb/studies', body.subarray(0, body.byteLength - 10), stowHeaders(boundary));
      expect(truncated.status).toBe(400);
      expect(((await truncated.json()) as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toMatch(
        /closing boundary/,
      );
      const six = multipart(
        boundary,
        Array.from({ length: 6 }, () => ({ type: 'application/dicom', body: new Uint8Array(10) })),
      );
      expect((await post('/dicomweb/studies', six, stowHeaders(boundary))).status).toBe(413);
      const huge = multipart(boundary, [{ type: 'application/dicom', body: new Uint8Array(1024 * 1024) }]);
      expect((await post('/dicomweb/studies', huge, stowHeaders(boundary))).status).toBe(413);
    });

    it('answers 503 with Retry-After when every part failed transiently', async () => {
      const boundary = 'b5';
      control.mode = 'transient';
      try {
        const res = await post(
          '/dicomweb/studies',
          multipart(boundary, [{ type: 'application/dicom', body: FILES.dicom }]),
          stowHeaders(boundary),
        );
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('2');
        const json = (await res.json()) as Record<string, { Value: Record<string, { Value: unknown[] }>[] }>;
        expect(json['00081198']?.Value[0]?.['00081197']?.Value).toEqual([0xa700]);
      } finally {
        control.mode = 'ok';
      }
    });
  });
});

// Runs without the shared samples: it sends an aECG the project writes itself.
describe('HTTP feeds over mTLS', () => {
  let app: FastifyInstance;
  let port: number;
  let certs: Record<'ca' | 'serverKey' | 'serverCert' | 'clientKey' | 'clientCert' | 'rogueKey' | 'rogueCert', Buffer>;
  const { intake, taken } = recordingIntake();

  beforeAll(async () => {
    const dir = await tempDir('mtls');
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    );
    const issue = (name: string, cn: string, caKey: string, caCrt: string) => {
      ssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${cn}`,
      );
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        caCrt,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
      );
    };
    issue('server', 'localhost', 'ca.key', 'ca.crt');
    issue('client', 'ecg-cart-1', 'ca.key', 'ca.crt');
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'rogue.key',
      '-out',
      'rogue.crt',
      '-days',
      '1',
      '-subj',
      '/CN=ecg-cart-1',
    );
    const read = (f: string) => readFile(join(dir, f));
    certs = {
      ca: await read('ca.crt'),
      serverKey: await read('server.key'),
      serverCert: await read('server.crt'),
      clientKey: await read('client.key'),
      clientCert: await read('client.crt'),
      rogueKey: await read('rogue.key'),
      rogueCert: await read('rogue.crt'),
    };
    app = Fastify({
      https: {
        key: certs.serverKey,
        cert: certs.serverCert,
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
    });
    await app.register(httpFeedsPlugin, {
      intake,
      rejected: await RejectedStore.open(join(dir, 'rejected')),
      auth: { clientCert: { allowedSubjects: ['ecg-cart-1'] } },
      statusUrl: (id) => `/ecg/${id}`,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app?.close();
  });

  const send = (client?: { key: Buffer; cert: Buffer }) =>
    new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/ecg',
          method: 'POST',
          ca: certs.ca,
          servername: 'localhost',
          headers: { 'content-type': 'application/xml' },
          ...(client ?? {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(Buffer.from(writeAecg(synthesizeEcg({ seed: 31, durationS: 2 }))));
    });

  it('lets in a client certificate the server verified, and refuses none or an unverified one', async () => {
    expect(await send({ key: certs.clientKey, cert: certs.clientCert })).toBe(202);
    expect(taken).toHaveLength(1);
    expect(await send()).toBe(401);
    expect(await send({ key: certs.rogueKey, cert: certs.rogueCert })).toBe(401);
    expect(taken).toHaveLength(1);
  });
});
