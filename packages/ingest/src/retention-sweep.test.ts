import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { RejectedStore } from './rejected-store.js';
import { startRetentionSweep, sweepFolder } from './retention-sweep.js';

const aged = async (path: string, ageS: number): Promise<void> => {
  const t = new Date(Date.now() - ageS * 1000);
  await utimes(path, t, t);
};

describe('retention sweep', () => {
  it('sweepFolder deletes plain files older than the cutoff and keeps newer ones and folders', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecgcad-sweep-'));
    await writeFile(join(dir, 'old.dcm'), 'x');
    await writeFile(join(dir, 'new.dcm'), 'y');
    await mkdir(join(dir, 'sub'));
    await aged(join(dir, 'old.dcm'), 120);
    await aged(join(dir, 'sub'), 120);
    expect(await sweepFolder(dir, new Date(Date.now() - 60_000))).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['new.dcm', 'sub']);
    expect(await sweepFolder(join(dir, 'absent'), new Date())).toBe(0);
  });

  it('deletes rejected-store entries and done/ files past their periods, each folder by its own period', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ecgcad-sweep-'));
    const rejected = await RejectedStore.open(join(root, 'rejected'));
    const old = await rejected.put(
      new Uint8Array([1]),
      { feed: 'http', receivedAt: new Date().toISOString() },
      { code: 'MALFORMED', message: 'x' },
    );
    const fresh = await rejected.put(
      new Uint8Array([2]),
      { feed: 'http', receivedAt: new Date().toISOString() },
      { code: 'MALFORMED', message: 'y' },
    );
    for (const ext of ['bin', 'json']) await aged(join(rejected.dir, `${old.id}.${ext}`), 3);
    const done = join(root, 'done');
    await mkdir(done);
    await writeFile(join(done, 'a.xml'), 'a');
    await aged(join(done, 'a.xml'), 3);
    const sweep = startRetentionSweep({
      targets: [
        { name: 'rejected', dir: rejected.dir, maxAgeS: 2 },
        { name: 'folder-done', dir: done, maxAgeS: 10 },
      ],
      intervalMs: 60_000,
    });
    try {
      expect(await sweep.sweep()).toEqual({ rejected: 2, 'folder-done': 0 });
      expect((await rejected.list()).map((e) => e.id)).toEqual([fresh.id]);
      expect(await readdir(done)).toEqual(['a.xml']);
    } finally {
      await sweep.close();
    }
  });

  it('runs by itself on its interval', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecgcad-sweep-'));
    const sweep = startRetentionSweep({ targets: [{ name: 'done', dir, maxAgeS: 1 }], intervalMs: 100 });
    try {
      await writeFile(join(dir, 'x.dcm'), 'x');
      await aged(join(dir, 'x.dcm'), 5);
      const deadline = Date.now() + 5000;
      while ((await readdir(dir)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await sweep.close();
    }
  });

  it('refuses a zero period or interval', () => {
    expect(() => startRetentionSweep({ targets: [{ name: 'x', dir: '.', maxAgeS: 0 }], intervalMs: 1 })).toThrow(
      ConfigError,
    );
    expect(() => startRetentionSweep({ targets: [], intervalMs: 0 })).toThrow(ConfigError);
  });
});
