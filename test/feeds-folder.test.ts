/**
 * The watched-folder feed on a real directory with chokidar: slow writers, files present at start, refusals with
 * reason files, transient failures left in place and retried. The feed's mechanics need ECG files, not particular
 * ones: it uses the shared samples where present, else files the project writes itself, so it also runs in a clone
 * without ../shared.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// Imported by path, not through @ecgcad/ingest, so these tests do not depend on the rest of the package's exports.
import { type FolderFeed, type FolderRejection, startFolderFeed } from '../packages/ingest/src/feeds/folder-feed.js';
import type { FeedOutcome } from '../packages/ingest/src/feeds/intake.js';
import { RejectedStore } from '../packages/ingest/src/rejected-store.js';
import { writeAecg } from '../packages/ingest/src/write-aecg.js';
import { writeDicomEcg } from '../packages/ingest/src/write-dicom.js';
import { recordingIntake, tempDir } from './feeds-support.js';
import { readSample, samplesPresent } from './support/samples.js';

/** The files the tests drop: the real samples where present, else files written here for the same roles. */
const FILES = samplesPresent
  ? {
      dicom: readSample('dicom_mortara_el250_12lead.dcm'),
      aecg: readSample('aecg_hl7_2003_example.xml'),
      otherAecg: readSample('aecg_liryc_100hz_example.xml'),
      philips: readSample('philips_sierraecg_1_03_129DYPRG.xml'),
    }
  : {
      dicom: writeDicomEcg(synthesizeEcg({ seed: 41, sampleRateHz: 1000 })),
      aecg: writeAecg(synthesizeEcg({ seed: 42 })),
      otherAecg: writeAecg(synthesizeEcg({ seed: 43, durationS: 4 })),
      // A Philips root is recognised and refused whatever its content (XLI waveforms are not decoded).
      philips: new TextEncoder().encode(
        '<?xml version="1.0" encoding="UTF-8"?>\n<restingecgdata xmlns="http://www3.medical.philips.com"></restingecgdata>\n',
      ),
    };

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`folder feed (${samplesPresent ? 'shared samples' : 'synthetic files: shared samples absent'})`, () => {
  let root: string;
  let inbox: string;
  let rejected: RejectedStore;
  let feed: FolderFeed | undefined;
  let harness: ReturnType<typeof recordingIntake>;
  const outcomes: FeedOutcome[] = [];

  beforeEach(async () => {
    root = await tempDir('folder');
    inbox = join(root, 'inbox');
    await mkdir(inbox);
    rejected = await RejectedStore.open(join(root, 'rejected-store'));
    harness = recordingIntake();
    outcomes.length = 0;
  });
  afterEach(async () => {
    await feed?.close();
    feed = undefined;
  });

  const start = (extra: { stableMs?: number; retryBaseMs?: number; maxFileBytes?: number } = {}) =>
    startFolderFeed({
      dir: inbox,
      intake: harness.intake,
      rejected,
      stableMs: extra.stableMs ?? 300,
      pollMs: 50,
      retry: { baseDelayMs: extra.retryBaseMs ?? 200 },
      ...(extra.maxFileBytes === undefined ? {} : { maxFileBytes: extra.maxFileBytes }),
      onOutcome: (_feed, outcome) => outcomes.push(outcome),
    });

  it('takes files present at start and moves them to done/', async () => {
    await writeFile(join(inbox, 'a.dcm'), FILES.dicom);
    await writeFile(join(inbox, 'b.xml'), FILES.aecg);
    feed = await start();
    await waitFor(() => existsSync(join(inbox, 'done', 'a.dcm')) && existsSync(join(inbox, 'done', 'b.xml')));
    expect(harness.taken.map((t) => t.meta.name).sort()).toEqual(['a.dcm', 'b.xml']);
    expect(harness.taken.every((t) => t.meta.feed === 'folder')).toBe(true);
    expect((await readdir(inbox)).sort()).toEqual(['done', 'rejected']);
    // A second file of the same name does not overwrite the first in done/.
    await writeFile(join(inbox, 'a.dcm'), FILES.dicom);
    await waitFor(() => existsSync(join(inbox, 'done', 'a-1.dcm')));
    expect(harness.taken).toHaveLength(3);
  });

  it('waits until a slowly written file is complete, and ignores dotfiles and *.part', async () => {
    feed = await start({ stableMs: 400 });
    const bytes = FILES.dicom;
    const path = join(inbox, 'slow.dcm');
    const pieces = 8;
    const step = Math.ceil(bytes.byteLength / pieces);
    await writeFile(path, bytes.subarray(0, step));
    for (let i = 1; i < pieces; i++) {
      await sleep(150); // gaps shorter than stableMs: the file must not be taken half-written
      await appendFile(path, bytes.subarray(i * step, (i + 1) * step));
      expect(harness.taken).toHaveLength(0);
    }
    await writeFile(join(inbox, '.hidden.dcm'), bytes);
    await writeFile(join(inbox, 'upload.dcm.part'), bytes);
    await waitFor(() => existsSync(join(inbox, 'done', 'slow.dcm')));
    expect(harness.taken).toHaveLength(1);
    expect(harness.taken[0]?.bytes.byteLength).toBe(bytes.byteLength);
    expect(Object.keys(harness.taken[0]!.ecg.leads)).toHaveLength(12);

    // A writer that renames its .part file when done is picked up under the final name.
    await rename(join(inbox, 'upload.dcm.part'), join(inbox, 'upload.dcm'));
    await waitFor(() => existsSync(join(inbox, 'done', 'upload.dcm')));
    await sleep(300);
    expect(existsSync(join(inbox, '.hidden.dcm'))).toBe(true);
    expect(harness.taken).toHaveLength(2);
    // The same SOP instance again: the intake says duplicate, and the file still leaves the inbox.
    expect(harness.taken[1]?.receipt.duplicate).toBe(true);
  });

  it('moves refused files to rejected/ with a reason file and keeps their bytes in the rejected store', async () => {
    feed = await start();
    await writeFile(join(inbox, 'philips.xml'), FILES.philips);
    await writeFile(join(inbox, 'junk.bin'), 'definitely not an ECG');
    await waitFor(
      () =>
        existsSync(join(inbox, 'rejected', 'philips.xml.reason.json')) &&
        existsSync(join(inbox, 'rejected', 'junk.bin.reason.json')),
    );
    const reason = JSON.parse(
      await readFile(join(inbox, 'rejected', 'philips.xml.reason.json'), 'utf8'),
    ) as FolderRejection;
    expect(reason).toMatchObject({ name: 'philips.xml', feed: 'folder', code: 'UNSUPPORTED_FORMAT' });
    expect(reason.reason.length).toBeGreaterThan(0);
    const kept = await rejected.get(reason.rejectedId!);
    expect(kept?.bytes.byteLength).toBe(FILES.philips.byteLength);
    expect(kept?.entry.name).toBe('philips.xml');
    expect(await readFile(join(inbox, 'rejected', 'junk.bin'), 'utf8')).toBe('definitely not an ECG');
    expect(harness.taken).toHaveLength(0);
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(2);
  });

  it('leaves a file in place on a transient failure, stores nothing as rejected, and retries it', async () => {
    harness.control.mode = 'transient';
    feed = await start({ retryBaseMs: 150 });
    await writeFile(join(inbox, 'later.xml'), FILES.otherAecg);
    await waitFor(() => outcomes.filter((o) => o === 'retry').length >= 2);
    expect(existsSync(join(inbox, 'later.xml'))).toBe(true);
    expect(await rejected.list()).toEqual([]);
    harness.control.mode = 'ok';
    await waitFor(() => existsSync(join(inbox, 'done', 'later.xml')));
    expect(harness.taken).toHaveLength(1);
    expect(outcomes.at(-1)).toBe('accepted');
  });

  it('refuses files over maxFileBytes unread', async () => {
    feed = await start({ maxFileBytes: 100_000 });
    await writeFile(join(inbox, 'huge.dcm'), FILES.dicom);
    await waitFor(() => existsSync(join(inbox, 'rejected', 'huge.dcm.reason.json')));
    const reason = JSON.parse(
      await readFile(join(inbox, 'rejected', 'huge.dcm.reason.json'), 'utf8'),
    ) as FolderRejection;
    expect(reason).toMatchObject({ code: 'LIMIT_EXCEEDED', reason: 'file over 100000 bytes' });
    expect(harness.taken).toHaveLength(0);
    expect(outcomes).toEqual(['refused']);
  });

  it('survives files that vanish before they are read', async () => {
    feed = await start({ stableMs: 200 });
    for (let i = 0; i < 5; i++) {
      const p = join(inbox, `gone-${i}.dcm`);
      await writeFile(p, 'x');
      await rename(p, join(root, `moved-${i}.dcm`));
    }
    await writeFile(join(inbox, 'after.dcm'), FILES.dicom);
    await waitFor(() => existsSync(join(inbox, 'done', 'after.dcm')));
    expect(harness.taken.map((t) => t.meta.name)).toEqual(['after.dcm']);
  });
});
