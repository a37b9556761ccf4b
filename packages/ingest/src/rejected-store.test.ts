import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RejectedStore } from './rejected-store.js';

describe('RejectedStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecgcad-rejected-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps bytes and metadata, lists oldest first, gets and removes by id', async () => {
    const store = await RejectedStore.open(join(dir, 'store'));
    const a = new TextEncoder().encode('not an ecg');
    const b = new Uint8Array([0, 1, 2, 255]);
    const first = await store.put(
      a,
      { feed: 'http', receivedAt: '2026-01-01T00:00:00.000Z', contentType: 'application/xml' },
      { code: 'MALFORMED', message: 'no AnnotatedECG root' },
      new Date('2026-01-01T00:00:01.000Z'),
    );
    const second = await store.put(
      b,
      { feed: 'folder', receivedAt: '2026-01-01T00:00:02.000Z', name: 'x.dcm' },
      { code: 'UNSUPPORTED_FORMAT', message: 'unknown format' },
      new Date('2026-01-01T00:00:02.500Z'),
    );
    expect(first.id).toMatch(/^20260101T000001000Z-[0-9a-f]{6}-[0-9a-f]{16}$/);
    expect(first.sha256).toBe(createHash('sha256').update(a).digest('hex'));
    expect(first.id.endsWith(first.sha256.slice(0, 16))).toBe(true);
    expect(first.size).toBe(a.byteLength);

    const listed = await store.list();
    expect(listed.map((e) => e.id)).toEqual([first.id, second.id]);
    expect(listed[1]).toMatchObject({ feed: 'folder', name: 'x.dcm', reason: { code: 'UNSUPPORTED_FORMAT' } });
    expect((await store.list({ limit: 1 })).map((e) => e.id)).toEqual([second.id]);

    const got = await store.get(second.id);
    expect(got?.bytes).toEqual(b);
    expect(got?.entry.reason.message).toBe('unknown format');

    expect(await store.remove(first.id)).toBe(true);
    expect(await store.remove(first.id)).toBe(false);
    expect(await store.get(first.id)).toBeUndefined();
    expect((await store.list()).map((e) => e.id)).toEqual([second.id]);
  });

  it('gives distinct, sortable ids to identical bytes refused in the same millisecond', async () => {
    const store = await RejectedStore.open(dir);
    const now = new Date('2026-03-03T03:03:03.003Z');
    const bytes = new Uint8Array([1, 2, 3]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await store.put(bytes, { feed: 'http', receivedAt: now.toISOString() }, { code: 'X', message: 'y' }, now)).id,
      );
    }
    expect(new Set(ids).size).toBe(5);
    expect([...ids].sort()).toEqual(ids);
  });

  it('ignores half-written entries and leaves no temp files behind', async () => {
    const store = await RejectedStore.open(dir);
    await store.put(new Uint8Array([9]), { feed: 'http', receivedAt: 'now' }, { code: 'X', message: 'y' });
    await writeFile(join(dir, '20260101T000000000Z-000001-0000000000000000.bin'), 'orphan');
    await writeFile(join(dir, '20260101T000000000Z-000002-0000000000000000.json'), '{ truncated');
    expect(await store.list()).toHaveLength(1);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses ids that could escape the directory', async () => {
    const store = await RejectedStore.open(dir);
    await expect(store.get('../../etc/passwd')).rejects.toMatchObject({ code: 'MALFORMED' });
    await expect(store.remove('x'.repeat(100))).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });
});
