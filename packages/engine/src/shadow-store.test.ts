import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShadowRecord } from '@ecgcad/infer';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlShadowStore, pairName, parseShadowRecord, RedisShadowStore } from './shadow-store.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `{ecgcad-test-shadow-store-${process.pid}-${Date.now()}}`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const record = (i: number, written = true): ShadowRecord => ({
  ecgId: `1.2.3.${i}`,
  at: new Date(Date.UTC(2026, 11, 1, 0, 0, i)).toISOString(),
  written,
  live: { model: 'demo@1', vessels: [{ vessel: 'LAD', probability: i / 10_000, stratum: 'low' }] },
  shadow: { model: 'demo@2', vessels: [{ vessel: 'LAD', probability: i / 5_000, stratum: 'intermediate' }] },
});

describe('RedisShadowStore', () => {
  it('round-trips records in order across pages, lists the pair, and sets a TTL on its keys', async () => {
    const pair = pairName('demo@1', 'demo@2');
    const store = new RedisShadowStore(redis, { prefix, pair, retentionDays: 1, maxRecords: 100_000 });
    const written = Array.from({ length: 2100 }, (_, i) => record(i, i % 2 === 0));
    for (let i = 0; i < written.length; i += 100)
      await Promise.all(written.slice(i, i + 100).map((r) => store.append(r)));
    const read = await store.records();
    expect(read).toHaveLength(written.length);
    expect(new Set(read.map((r) => r.ecgId))).toEqual(new Set(written.map((r) => r.ecgId)));
    expect(read.find((r) => r.ecgId === '1.2.3.7')).toEqual(written[7]);
    expect(await RedisShadowStore.pairs(redis, prefix)).toEqual([pair]);
    const ttl = await redis.pttl(`${prefix}:shadow:${pair}`);
    expect(ttl).toBeGreaterThan(86_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });

  it('drops records older than the retention', async () => {
    let now = Date.now() - 3 * 86_400_000;
    const store = new RedisShadowStore(redis, {
      prefix,
      pair: pairName('old@1', 'old@2'),
      retentionDays: 1,
      maxRecords: 1000,
      now: () => now,
    });
    // Stream ids come from Redis' clock; records older than the retention are those with older ids.
    await store.append(record(1));
    now = Date.now() + 2 * 86_400_000;
    await store.append(record(2));
    expect((await store.records()).map((r) => r.ecgId)).toEqual([]);
  });
});

describe('JsonlShadowStore', () => {
  it('round-trips records, skips a line cut by a kill, reads nothing from a missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecgcad-shadow-'));
    try {
      const store = new JsonlShadowStore(join(dir, 'sub', 'shadow.jsonl'));
      expect(await store.records()).toEqual([]);
      await Promise.all([record(1), record(2, false), record(3)].map((r) => store.append(r)));
      await writeFile(store.file, `${await readFile(store.file, 'utf8')}{"ecgId":"cut`);
      const read = await store.records();
      expect(read.map((r) => r.ecgId).sort()).toEqual(['1.2.3.1', '1.2.3.2', '1.2.3.3']);
      expect(read.find((r) => r.ecgId === '1.2.3.2')).toEqual(record(2, false));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseShadowRecord', () => {
  it('refuses what is not a record', () => {
    expect(parseShadowRecord(record(1))).toEqual(record(1));
    expect(parseShadowRecord({ ...record(1), written: 'yes' })).toBeUndefined();
    expect(
      parseShadowRecord({
        ...record(1),
        live: { model: 'x', vessels: [{ vessel: 'LAD', probability: 1, stratum: 'very' }] },
      }),
    ).toBeUndefined();
    expect(parseShadowRecord(null)).toBeUndefined();
  });
});
