/**
 * The C-STORE SCP against dcmtk's storescu / echoscu over loopback: real association negotiation, real statuses.
 * Most tests need a DICOM ECG file, not a particular one: the Mortara sample where the shared samples are present,
 * else a 1000 Hz 12-lead file the project writes itself, so the suite also runs in a clone without ../shared.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10Meta } from '../packages/ingest/src/dicom/part10.js';
// Imported by path, not through @ecgcad/ingest, so these tests do not depend on the rest of the package's exports.
import { type DimseFeed, startDimseFeed } from '../packages/ingest/src/feeds/dimse-feed.js';
import type { FeedOutcome } from '../packages/ingest/src/feeds/intake.js';
import { RejectedStore } from '../packages/ingest/src/rejected-store.js';
import { writeDicomEcg } from '../packages/ingest/src/write-dicom.js';
import { dumpToDicom, recordingIntake, runTool, tempDir } from './feeds-support.js';
import { noteSkip, SAMPLES_DIR, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

if (!samplesPresent) noteSkip(import.meta.url, `one real-file test: ${SAMPLES_SKIP_REASON}`);

const NO_WAVEFORM_DUMP = `(0008,0016) UI [1.2.840.10008.5.1.4.1.1.9.1.1]
(0008,0018) UI [1.2.826.0.1.3680043.9.9999.1.1]
(0008,0060) CS [ECG]
(0020,000d) UI [1.2.826.0.1.3680043.9.9999.2]
`;
const CT_IMAGE_DUMP = `(0008,0016) UI [1.2.840.10008.5.1.4.1.1.2]
(0008,0018) UI [1.2.826.0.1.3680043.9.9999.1.2]
(0008,0060) CS [CT]
`;

describe(`DICOM C-STORE feed with dcmtk (${samplesPresent ? 'shared samples' : 'synthetic files: shared samples absent'})`, () => {
  let dir: string;
  let rejected: RejectedStore;
  let feed: DimseFeed;
  const { intake, taken, control } = recordingIntake();
  const outcomes: FeedOutcome[] = [];
  // A 12-lead 1000 Hz DICOM ECG: the Mortara sample, or one written in beforeAll.
  let mortara = join(SAMPLES_DIR, 'dicom_mortara_el250_12lead.dcm');
  const hemodynamic = join(SAMPLES_DIR, 'dicom_gemarquette_maclab_hemodynamic_12ch.dcm');

  beforeAll(async () => {
    dir = await tempDir('dimse');
    if (!samplesPresent) {
      mortara = join(dir, 'synthetic-1000hz.dcm');
      await writeFile(mortara, writeDicomEcg(synthesizeEcg({ seed: 51, sampleRateHz: 1000 })));
    }
    rejected = await RejectedStore.open(join(dir, 'rejected'));
    feed = await startDimseFeed({
      aeTitle: 'ECGCAD',
      port: 0,
      host: '127.0.0.1',
      intake,
      rejected,
      allowedCallingAeTitles: ['STORESCU', 'ECHOSCU', 'CART1'],
      onOutcome: (_feed, outcome) => outcomes.push(outcome),
    });
  });
  afterAll(async () => {
    await feed?.close();
  });

  const storescu = (args: string[]) => runTool('storescu', ['-v', '-aec', 'ECGCAD', ...args]);
  const peer = () => ['127.0.0.1', String(feed.port)];

  it('answers C-ECHO', async () => {
    const { code, out } = await runTool('echoscu', ['-v', '-aec', 'ECGCAD', ...peer()]);
    expect(out).toMatch(/Received Echo Response \(Success\)/);
    expect(code).toBe(0);
  });

  it.skipIf(!samplesPresent)(
    `stores the real sample files (12-lead and hemodynamic) and hands intake a Part 10 file${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`,
    async () => {
      const before = taken.length;
      const { code, out } = await storescu([...peer(), mortara, hemodynamic]);
      expect(code).toBe(0);
      expect(out.match(/Received Store Response \(Success\)/g)).toHaveLength(2);
      const got = taken.slice(before);
      expect(got.map((t) => t.receipt.ecgId)).toEqual([
        '1.3.6.1.4.1.20029.40.20130125105919.5407.1.1',
        '1.3.6.1.4.1.6018.3.999',
      ]);
      // The decoder read the waveform exactly as if the file had been read from disk.
      expect(Object.keys(got[0]!.ecg.leads)).toHaveLength(12);
      expect(got[0]!.ecg.sampleRateHz).toBe(1000);
      expect(Array.from(got[0]!.ecg.leads.II!.subarray(0, 3))).toEqual([112.5, 106.25, 100]);
      expect(got[0]?.meta).toMatchObject({ feed: 'cstore', remote: 'STORESCU', contentType: 'application/dicom' });
      expect(readPart10Meta(got[1]!.bytes)).toMatchObject({
        sopClassUid: '1.2.840.10008.5.1.4.1.1.9.2.1',
        sopInstanceUid: '1.3.6.1.4.1.6018.3.999',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
      });
      // dcmdump reads what the SCP wrote as a valid file.
      const store = join(dir, 'received.dcm');
      await writeFile(store, got[0]!.bytes);
      const dump = await runTool('dcmdump', ['-q', '+M', store]);
      expect(dump.code).toBe(0);
      expect(dump.out).toMatch(/\(5400,0100\) SQ/);
    },
  );

  it('stores synthetic 12-lead and 8-lead ECG files, and the decoder reads back the same waveforms', async () => {
    const records = [1, 2, 3].map((seed) => synthesizeEcg({ seed }));
    const files: string[] = [];
    for (const [i, ecg] of records.entries()) {
      const path = join(dir, `synthetic-${i}.dcm`);
      await writeFile(path, writeDicomEcg(ecg, { leads: i === 2 ? 8 : 12 }));
      files.push(path);
    }
    const before = taken.length;
    const { code, out } = await storescu(['-aet', 'CART1', ...peer(), ...files]);
    expect(code).toBe(0);
    expect(out.match(/Received Store Response \(Success\)/g)).toHaveLength(3);
    const got = taken.slice(before);
    expect(got).toHaveLength(3);
    for (const [i, t] of got.entries()) {
      const original = records[i]!.leads.V2!;
      const decoded = t.ecg.leads.V2!;
      expect(decoded.length).toBe(original.length);
      let worst = 0;
      for (let k = 0; k < original.length; k++) worst = Math.max(worst, Math.abs(decoded[k]! - original[k]!));
      expect(worst).toBeLessThanOrEqual(1.25 + 1e-3); // half the 2.5 uV quantisation step
      expect(Object.keys(t.ecg.leads)).toHaveLength(i === 2 ? 8 : 12);
    }
  });

  it('hashes the data set as the sender sent it: one object from two AE titles is one document', async () => {
    const file = join(dir, 'forwarded.dcm');
    await writeFile(file, writeDicomEcg(synthesizeEcg({ seed: 61 })));
    const before = taken.length;
    // A cart sends it, then a PACS forwards it.
    for (const callingAe of ['CART1', 'STORESCU']) {
      const { code, out } = await storescu(['-aet', callingAe, ...peer(), file]);
      expect(code).toBe(0);
      expect(out).toMatch(/Received Store Response \(Success\)/);
    }
    const [first, second] = taken.slice(before);
    const bytes = await readFile(file);
    const dataSet = bytes.subarray(readPart10Meta(bytes).datasetStart);
    const expected = createHash('sha256').update(dataSet).digest('hex');
    expect(first?.meta.sha256).toBe(expected);
    expect(second?.meta.sha256).toBe(expected);
    expect(second?.ecg.source.sha256).toBe(expected);
    // The Part 10 files the feed built differ: their File Meta names the calling AE title.
    expect(Buffer.compare(first!.bytes, second!.bytes)).not.toBe(0);
    expect(readPart10Meta(first!.bytes).datasetStart).toBeGreaterThan(0);
    expect(second?.receipt.duplicate).toBe(true);
  });

  it('receives Implicit VR Little Endian when that is all the sender proposes', async () => {
    // The real-file test stored this file first where it ran; the duplicate check below needs that.
    if (!samplesPresent) expect((await storescu([...peer(), mortara])).code).toBe(0);
    const before = taken.length;
    const { code, out } = await storescu(['-xi', '-aet', 'CART1', ...peer(), mortara]);
    expect(out).toMatch(/Received Store Response \(Success\)/);
    expect(code).toBe(0);
    const got = taken.slice(before);
    expect(readPart10Meta(got[0]!.bytes)?.transferSyntaxUid).toBe('1.2.840.10008.1.2');
    expect(got[0]?.receipt.duplicate).toBe(true);
  });

  it('refuses an ECG-class file the intake cannot decode: failure status, ErrorComment, bytes kept', async () => {
    const file = await dumpToDicom(dir, 'no-waveform', NO_WAVEFORM_DUMP);
    const before = (await rejected.list()).length;
    const { out } = await runTool('storescu', ['-d', '-aec', 'ECGCAD', ...peer(), file]);
    expect(out).toMatch(/DIMSE Status\s+: 0xc000/);
    // The decoder's reason reaches the sender as the ErrorComment.
    const comment = /\(0000,0902\) LO \[([^\]]+)\]/.exec(out)?.[1]?.trim();
    expect(comment).toBeTruthy();
    expect(comment!.length).toBeLessThanOrEqual(64);
    const entries = await rejected.list();
    expect(entries).toHaveLength(before + 1);
    const entry = entries.at(-1)!;
    expect(entry).toMatchObject({ feed: 'cstore', remote: 'STORESCU' });
    expect(['MALFORMED', 'UNSUPPORTED_FORMAT', 'NOT_ANALYSABLE']).toContain(entry.reason.code);
    expect(comment!.replace(/\.\.\.$/, '')).toBe(entry.reason.message.slice(0, comment!.replace(/\.\.\.$/, '').length));
    const kept = await rejected.get(entry.id);
    expect(readPart10Meta(kept!.bytes)?.sopInstanceUid).toBe('1.2.826.0.1.3680043.9.9999.1.1');
  });

  it('refuses a non-ECG SOP class at association negotiation', async () => {
    const file = await dumpToDicom(dir, 'ct', CT_IMAGE_DUMP);
    const before = taken.length;
    const { code, out } = await storescu([...peer(), file]);
    expect(code).not.toBe(0);
    expect(out).toMatch(/No presentation context|no acceptable presentation context|rejected/i);
    expect(taken.length).toBe(before);
  });

  it('rejects associations from calling AE titles not on the list, and to another called AE title', async () => {
    const wrongCaller = await storescu(['-aet', 'INTRUDER', ...peer(), mortara]);
    expect(wrongCaller.code).not.toBe(0);
    expect(wrongCaller.out).toMatch(/Association Rejected/);
    expect(wrongCaller.out).toMatch(/Calling AE Title Not Recognized/i);
    const wrongCalled = await runTool('storescu', ['-v', '-aec', 'OTHER', ...peer(), mortara]);
    expect(wrongCalled.code).not.toBe(0);
    expect(wrongCalled.out).toMatch(/Called AE Title Not Recognized/i);
  });

  it('answers 0xA700 on a transient intake failure and keeps nothing as rejected', async () => {
    const before = (await readdir(join(dir, 'rejected'))).length;
    control.mode = 'transient';
    try {
      const { out } = await runTool('storescu', ['-d', '-aec', 'ECGCAD', ...peer(), mortara]);
      expect(out).toMatch(/DIMSE Status\s+: 0xa700: Refused: Out of resources/);
      expect(out).toMatch(/\(0000,0902\) LO \[queue unavailable\s*\]/);
    } finally {
      control.mode = 'ok';
    }
    expect((await readdir(join(dir, 'rejected'))).length).toBe(before);
    expect(outcomes).toContain('retry');
    expect(outcomes).toContain('refused');
    expect(outcomes).toContain('accepted');
  });

  it('survives hostile bytes on the socket, closing the connection, and keeps serving', async () => {
    const { connect } = await import('node:net');
    const blasts = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      // A-ASSOCIATE-RQ header claiming a huge length, then nothing.
      Buffer.from([0x01, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01]),
      // A P-DATA-TF before any association.
      Buffer.from([0x04, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x02, 0x01, 0x03]),
      Buffer.alloc(70_000, 0xab),
    ];
    for (const blast of blasts) {
      await new Promise<void>((resolve) => {
        const socket = connect(feed.port, '127.0.0.1', () => {
          socket.write(blast);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
    }
    const { code, out } = await runTool('echoscu', ['-v', '-aec', 'ECGCAD', ...peer()]);
    expect(out).toMatch(/Received Echo Response \(Success\)/);
    expect(code).toBe(0);
  });

  it('refuses a data set over maxDatasetBytes without keeping it', async () => {
    const small = await startDimseFeed({
      aeTitle: 'ECGCAD',
      port: 0,
      host: '127.0.0.1',
      intake,
      rejected,
      maxDatasetBytes: 100_000,
    });
    try {
      const before = (await rejected.list()).length;
      const { out } = await runTool('storescu', ['-d', '-aec', 'ECGCAD', '127.0.0.1', String(small.port), mortara]);
      expect(out).toMatch(/DIMSE Status\s+: 0xc000/);
      expect(out).toMatch(/\(0000,0902\) LO \[data set over 100000 bytes\s*\]/);
      expect((await rejected.list()).length).toBe(before);
    } finally {
      await small.close();
    }
  });

  it('stores 50 files over one association', async () => {
    const before = taken.length;
    const files = Array.from({ length: 50 }, () => mortara);
    const started = performance.now();
    const { code, out } = await storescu([...peer(), ...files]);
    const ms = performance.now() - started;
    expect(code).toBe(0);
    expect(out.match(/Received Store Response \(Success\)/g)).toHaveLength(50);
    expect(taken.length - before).toBe(50);
    // With Nagle on, 50 x 288 KB takes several seconds on loopback; with TCP_NODELAY it is well under that.
    expect(ms).toBeLessThan(10_000);
  });
});
