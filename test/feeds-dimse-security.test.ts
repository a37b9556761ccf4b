/**
 * The C-STORE SCP's security controls against real dcmtk and real certificates made by the test: DICOM TLS with
 * client-certificate verification, the calling-AE allow list bound to source addresses, the per-source association
 * limit (A-ASSOCIATE-RJ local-limit-exceeded) and the ARTIM / PDU idle timers.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DimseFeed, startDimseFeed } from '../packages/ingest/src/feeds/dimse-feed.js';
import type { FeedLogger } from '../packages/ingest/src/feeds/intake.js';
import { RejectedStore } from '../packages/ingest/src/rejected-store.js';
import { writeDicomEcg } from '../packages/ingest/src/write-dicom.js';
import { associateRequest, makeTestPki, pem, rawPeer, type TestPki } from './dimse-security-support.js';
import { recordingIntake, runTool, tempDir } from './feeds-support.js';

/** A logger that keeps every line, to check what was logged (and that no patient data was). */
function recordingLogger(): { logger: FeedLogger; lines: Array<{ level: string; fields: object; msg: string }> } {
  const lines: Array<{ level: string; fields: object; msg: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg?: string) =>
    lines.push({ level, fields, msg: msg ?? '' });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first line with this message logged after index `from`, waiting up to 3 s for it (the log may trail the tool). */
async function lineAfter(lines: Array<{ msg: string; fields: object }>, from: number, msg: string) {
  for (let waited = 0; waited < 3000; waited += 25) {
    const line = lines.slice(from).find((l) => l.msg === msg);
    if (line) return line;
    await sleep(25);
  }
  return undefined;
}

describe('DICOM TLS on the C-STORE SCP (dcmtk storescu +tls, certificates made by openssl)', () => {
  let dir: string;
  let pki: TestPki;
  let feed: DimseFeed;
  let ecgFile: string;
  const { intake, taken } = recordingIntake();
  const { logger, lines } = recordingLogger();

  beforeAll(async () => {
    dir = await tempDir('dimse-tls');
    pki = await makeTestPki(dir);
    ecgFile = join(dir, 'ecg.dcm');
    await writeFile(ecgFile, writeDicomEcg(synthesizeEcg({ seed: 7 })));
    feed = await startDimseFeed({
      aeTitle: 'ECGCAD',
      port: 0,
      host: '127.0.0.1',
      intake,
      rejected: await RejectedStore.open(join(dir, 'rejected')),
      logger,
      tls: { cert: await pem(pki.serverPem), key: await pem(pki.serverKey), ca: await pem(pki.caPem) },
      allowedCallingAeTitles: ['CART1'],
      callingAeAddresses: { CART2: ['10.20.0.0/16'] },
    });
  }, 60_000);
  afterAll(async () => {
    await feed?.close();
  });

  const storescu = (args: string[]) =>
    runTool('storescu', ['-v', '-aec', 'ECGCAD', ...args, '127.0.0.1', String(feed.port), ecgFile]);
  const withCert = (key: string, cert: string) => ['+tls', key, cert, '+cf', pki.caPem];

  it('dcmtk is built with OpenSSL (storescu --version lists it)', async () => {
    const { out } = await runTool('storescu', ['--version']);
    expect(out).toMatch(/OpenSSL/);
    expect(feed.tls).toBe(true);
  });

  it('takes an ECG over TLS from an allowed calling AE with a client certificate signed by the CA', async () => {
    const before = taken.length;
    const { code, out } = await storescu(['-aet', 'CART1', ...withCert(pki.clientKey, pki.clientPem)]);
    expect(out).toMatch(/Received Store Response \(Success\)/);
    expect(code).toBe(0);
    expect(taken).toHaveLength(before + 1);
    expect(taken.at(-1)?.meta).toMatchObject({ feed: 'cstore', remote: 'CART1' });
    const accepted = lines.find((l) => l.msg === 'association accepted');
    expect(accepted?.fields).toMatchObject({ callingAe: 'CART1', remote: '127.0.0.1', certificate: 'client' });
  });

  it('refuses plain TCP to the TLS port', async () => {
    const before = taken.length;
    const logged = lines.length;
    const { code, out } = await storescu(['-aet', 'CART1']);
    expect(code).not.toBe(0);
    expect(out).toMatch(/Association Request Failed/);
    expect(out).not.toMatch(/Store Response/);
    expect(taken).toHaveLength(before);
    const refusal = await lineAfter(lines, logged, 'DICOM TLS handshake refused');
    expect(refusal?.fields).toMatchObject({ remote: '127.0.0.1' });
  });

  it('refuses a client certificate from an untrusted CA, an expired one, and none, at the TLS handshake', async () => {
    const before = taken.length;
    const cases = [
      { args: withCert(pki.rogueKey, pki.roguePem), reason: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      { args: withCert(pki.expiredKey, pki.expiredPem), reason: 'CERT_HAS_EXPIRED' },
      { args: ['+tla', '+cf', pki.caPem], reason: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' },
    ];
    for (const { args, reason } of cases) {
      const logged = lines.length;
      const { code, out } = await storescu(['-aet', 'CART1', ...args]);
      expect(code).not.toBe(0);
      // dcmtk only says the peer went away; the reason is in the engine's log.
      expect(out).toMatch(/Association Request Failed/);
      expect(out).not.toMatch(/Store Response/);
      const refusal = await lineAfter(lines, logged, 'DICOM TLS handshake refused');
      expect(refusal?.fields).toEqual({ feed: 'cstore', remote: '127.0.0.1', reason });
    }
    expect(taken).toHaveLength(before);
  });

  it('would take the untrusted certificate if client verification were off (the refusal above is the check)', async () => {
    const open = await startDimseFeed({
      aeTitle: 'ECGCAD',
      port: 0,
      host: '127.0.0.1',
      intake,
      rejected: await RejectedStore.open(join(dir, 'rejected')),
      tls: { cert: await pem(pki.serverPem), key: await pem(pki.serverKey), verifyClient: false },
      allowedCallingAeTitles: ['CART1'],
    });
    try {
      const { out } = await runTool('storescu', [
        '-v',
        '-aet',
        'CART1',
        '-aec',
        'ECGCAD',
        ...withCert(pki.rogueKey, pki.roguePem),
        '127.0.0.1',
        String(open.port),
        ecgFile,
      ]);
      expect(out).toMatch(/Received Store Response \(Success\)/);
    } finally {
      await open.close();
    }
  });

  it('closes a connection that never starts the TLS handshake after the association timeout', async () => {
    const short = await startDimseFeed({
      aeTitle: 'ECGCAD',
      port: 0,
      host: '127.0.0.1',
      intake,
      rejected: await RejectedStore.open(join(dir, 'rejected')),
      logger,
      tls: { cert: await pem(pki.serverPem), key: await pem(pki.serverKey), ca: await pem(pki.caPem) },
      allowedCallingAeTitles: ['CART1'],
      associationTimeoutMs: 1000,
    });
    try {
      const logged = lines.length;
      const silent = rawPeer(short.port);
      const ms = await silent.closed;
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(4000);
      const refusal = await lineAfter(lines, logged, 'DICOM TLS handshake refused');
      expect(refusal?.fields).toMatchObject({ remote: '127.0.0.1', reason: 'ERR_TLS_HANDSHAKE_TIMEOUT' });
    } finally {
      await short.close();
    }
  });

  it('closes at once even while a TLS handshake is pending', async () => {
    const pending = await startDimseFeed({
      aeTitle: 'ECGCAD',
      port: 0,
      host: '127.0.0.1',
      intake,
      rejected: await RejectedStore.open(join(dir, 'rejected')),
      tls: { cert: await pem(pki.serverPem), key: await pem(pki.serverKey), ca: await pem(pki.caPem) },
      allowedCallingAeTitles: ['CART1'],
    });
    const silent = rawPeer(pending.port); // connects and never starts the handshake
    await sleep(200);
    const started = Date.now();
    await pending.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await silent.closed).toBeLessThan(5000);
  });

  it('rejects an unknown calling AE, and a known one calling from an address not bound to it, with A-ASSOCIATE-RJ', async () => {
    const before = taken.length;
    for (const calling of ['INTRUDER', 'CART2']) {
      const { code, out } = await storescu(['-aet', calling, ...withCert(pki.clientKey, pki.clientPem)]);
      expect(code).not.toBe(0);
      expect(out).toMatch(/Association Rejected/);
      expect(out).toMatch(/Calling AE Title Not Recognized/i);
      expect(out).toMatch(/Rejected Permanent/i);
    }
    expect(taken).toHaveLength(before);
    expect(lines.some((l) => l.msg === 'association rejected: calling AE title not allowed from this address')).toBe(
      true,
    );
  });
});

describe('per-source association limit and the ARTIM / PDU idle timers', () => {
  let dir: string;
  let ecgFile: string;
  const { intake, taken } = recordingIntake();
  const { logger, lines } = recordingLogger();
  const feeds: DimseFeed[] = [];

  beforeAll(async () => {
    dir = await tempDir('dimse-limits');
    ecgFile = join(dir, 'ecg.dcm');
    await writeFile(ecgFile, writeDicomEcg(synthesizeEcg({ seed: 8 })));
  });
  afterAll(async () => {
    for (const f of feeds) await f.close();
  });

  const start = async (extra: Partial<Parameters<typeof startDimseFeed>[0]>) => {
    const feed = await startDimseFeed({
      aeTitle: 'ECGCAD',
      port: 0,
      host: '127.0.0.1',
      intake,
      rejected: await RejectedStore.open(join(dir, 'rejected')),
      logger,
      allowedCallingAeTitles: ['CART1', 'HOLDER'],
      ...extra,
    });
    feeds.push(feed);
    return feed;
  };
  const store = (port: number) =>
    runTool('storescu', ['-v', '-aet', 'CART1', '-aec', 'ECGCAD', '127.0.0.1', String(port), ecgFile]);

  it('answers A-ASSOCIATE-RJ (transient, service provider presentation, local-limit-exceeded) past the limit', async () => {
    const feed = await start({ maxAssociationsPerSource: 2 });
    const holders = [0, 1].map(() => rawPeer(feed.port, (s) => s.write(associateRequest('HOLDER', 'ECGCAD'))));
    for (const h of holders) expect(await h.waitFor(0x02)).toBe(true);

    const refused = await store(feed.port);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/Association Rejected/);
    expect(refused.out).toMatch(/Rejected Transient/i);
    expect(refused.out).toMatch(/Local Limit Exceeded/i);
    const raw = rawPeer(feed.port, (s) => s.write(associateRequest('HOLDER', 'ECGCAD')));
    expect(await raw.waitFor(0x03)).toBe(true);
    expect(raw.reject).toEqual([2, 3, 2]); // PS3.8 9.3.4: rejected-transient, presentation, local-limit-exceeded
    raw.socket.destroy();

    holders[0]?.socket.destroy();
    await holders[0]?.closed;
    await sleep(500); // the server sees the close a moment after the client
    const before = taken.length;
    const served = await store(feed.port);
    expect(served.out).toMatch(/Received Store Response \(Success\)/);
    expect(taken).toHaveLength(before + 1);
    holders[1]?.socket.destroy();
    expect(lines.some((l) => l.msg === 'association rejected: too many associations from this source')).toBe(true);
  });

  it('closes a connection that trickles an A-ASSOCIATE-RQ past the ARTIM timeout while another sender is served', async () => {
    const feed = await start({ associationTimeoutMs: 1500, pduTimeoutMs: 1500 });
    const request = associateRequest('CART1', 'ECGCAD');
    let sent = 0;
    const slow = rawPeer(feed.port, (socket) => {
      const drip = setInterval(() => {
        if (socket.destroyed || sent >= request.length - 1) return clearInterval(drip);
        socket.write(request.subarray(sent, sent + 1));
        sent++;
      }, 100);
    });
    const before = taken.length;
    const served = await store(feed.port);
    expect(served.out).toMatch(/Received Store Response \(Success\)/);
    expect(taken).toHaveLength(before + 1);
    const ms = await slow.closed;
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(4000);
    expect(sent).toBeGreaterThan(5); // it was sending all along
    expect(lines.some((l) => l.msg === 'no A-ASSOCIATE-RQ within the association timeout; closing')).toBe(true);
  });

  it('aborts an associated peer that trickles a PDU, or sits idle, past the PDU timeout', async () => {
    const feed = await start({ associationTimeoutMs: 5000, pduTimeoutMs: 1500 });
    // A P-DATA-TF announcing 100 bytes (one PDV item of a command on context 1), sent one byte every 100 ms: bytes
    // flow, no PDU completes.
    const pdata = Buffer.concat([Buffer.from([0x04, 0, 0, 0, 0, 100, 0, 0, 0, 96, 1, 0x03]), Buffer.alloc(94)]);
    let sent = 0;
    const trickler = rawPeer(feed.port, (socket) => socket.write(associateRequest('CART1', 'ECGCAD')));
    const idle = rawPeer(feed.port, (socket) => socket.write(associateRequest('CART1', 'ECGCAD')));
    expect(await trickler.waitFor(0x02)).toBe(true);
    expect(await idle.waitFor(0x02)).toBe(true);
    const drip = setInterval(() => {
      if (trickler.socket.destroyed) return clearInterval(drip);
      trickler.socket.write(pdata.subarray(sent, sent + 1));
      sent++;
    }, 100);
    const [trickled, idled] = await Promise.all([trickler.closed, idle.closed]);
    clearInterval(drip);
    for (const [peer, ms] of [
      [trickler, trickled],
      [idle, idled],
    ] as const) {
      expect(ms).toBeGreaterThanOrEqual(1400);
      expect(ms).toBeLessThan(5000);
      expect(peer.pduTypes).toContain(0x07); // A-ABORT before the close
    }
    expect(sent).toBeGreaterThan(10);
    expect(lines.filter((l) => l.msg.startsWith('DICOM peer idle past the PDU timeout')).length).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('aborts a peer whose P-DATA-TF breaks the PDV rules, and one that sends P-DATA-TF before associating', async () => {
    const feed = await start({});
    const before = lines.length;
    // A PDV item longer than its PDU.
    const broken = Buffer.from([0x04, 0, 0, 0, 0, 8, 0, 0, 0, 200, 1, 0x03, 0, 0]);
    const peer = rawPeer(feed.port, (socket) => socket.write(associateRequest('CART1', 'ECGCAD')));
    expect(await peer.waitFor(0x02)).toBe(true);
    peer.socket.write(broken);
    expect(await peer.closed).toBeLessThan(5000);
    expect(peer.pduTypes).toContain(0x07);
    const early = rawPeer(feed.port, (socket) => socket.write(broken));
    expect(await early.closed).toBeLessThan(5000);
    expect(early.pduTypes).not.toContain(0x02);
    expect(lines.slice(before).filter((l) => l.msg === 'DIMSE protocol error')).toHaveLength(2);
    // The feed still serves.
    expect((await store(feed.port)).out).toMatch(/Received Store Response \(Success\)/);
  });

  it('refuses bad settings up front', async () => {
    await expect(start({ callingAeAddresses: { CART9: ['10.0.0.0/40', 'somehost'] } })).rejects.toThrow(
      /callingAeAddresses\.CART9: not an IP or CIDR: 10\.0\.0\.0\/40, somehost/,
    );
    await expect(start({ tls: { cert: 'x', key: 'y', verifyClient: true } })).rejects.toThrow(/tls\.verifyClient/);
    await expect(start({ maxAssociationsPerSource: 0 })).rejects.toThrow(/maxAssociationsPerSource/);
  });
});
