import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ecgcad/ecg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type AuditEventResource,
  AuditTrail,
  auditSinkFromConfig,
  JsonLinesAuditSink,
  senderOf,
} from './audit-trail.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `{ecgcad-test-audit-trail-${process.pid}-${Date.now()}}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('AuditTrail', () => {
  const written = (i: number) =>
    ({ kind: 'written', at: '2026-12-04T05:00:00.000Z', ecgId: `ecg-${i}`, target: 'file' }) as const;

  it('pushes the facts of one turn in one LPUSH, each resolved once in Redis, delivered oldest first', async () => {
    const delivered: AuditEventResource[] = [];
    const trail = new AuditTrail({
      redis,
      prefix: `${prefix}:turn`,
      sink: { name: 'memory', deliver: async (events) => void delivered.push(...events) },
      logger: createLogger('silent'),
    });
    const lpush = vi.spyOn(redis, 'lpush');
    try {
      const first = Array.from({ length: 12 }, (_, i) => trail.record(written(i)));
      await Promise.all(first);
      expect(await trail.pending()).toBe(12);
      expect(lpush).toHaveBeenCalledTimes(1);
      // A later turn: its own push.
      await trail.record(written(12));
      expect(lpush).toHaveBeenCalledTimes(2);
    } finally {
      lpush.mockRestore();
    }
    expect(await trail.deliverPending()).toBe(13);
    const ids = delivered.map((e) => JSON.stringify(e).match(/ecg-\d+/)?.[0]);
    expect(ids).toEqual(Array.from({ length: 13 }, (_, i) => `ecg-${i}`));
    await trail.close();
  });

  it('delivers full batches back to back and ends at a short one: what comes in meanwhile waits for the next round', async () => {
    const batches: number[] = [];
    let streaming = true;
    let next = 100;
    const trail: AuditTrail = new AuditTrail({
      redis,
      prefix: `${prefix}:batches`,
      sink: {
        name: 'memory',
        deliver: async (events) => {
          batches.push(events.length);
          // A steady stream: two more facts arrive while each delivery is under way.
          if (streaming) await Promise.all([trail.record(written(next++)), trail.record(written(next++))]);
        },
      },
      logger: createLogger('silent'),
      batch: 5,
    });
    await Promise.all(Array.from({ length: 12 }, (_, i) => trail.record(written(i))));
    // 12 waiting, 2 more per delivery: 5 (9 left), 5 (6), 5 (3), then the short batch of 3 ends the round.
    expect(await trail.deliverPending()).toBe(18);
    expect(batches).toEqual([5, 5, 5, 3]);
    expect(await trail.pending()).toBe(2);
    streaming = false;
    expect(await trail.deliverPending()).toBe(2);
    expect(await trail.pending()).toBe(0);
    await trail.close();
  });

  it('the file sink appends the events as they waited in Redis, oldest first, and makes its folder when it is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecgcad-audit-'));
    const path = join(dir, 'audit', 'events.jsonl');
    const trail = new AuditTrail({
      redis,
      prefix: `${prefix}:file`,
      sink: new JsonLinesAuditSink(path),
      logger: createLogger('silent'),
    });
    try {
      await Promise.all([trail.record(written(1)), trail.record(written(2))]);
      const waiting = (await redis.lrange(trail.key, 0, -1)).reverse();
      expect(await trail.deliverPending()).toBe(2);
      expect(await readFile(path, 'utf8')).toBe(waiting.map((line) => `${line}\n`).join(''));
      expect(waiting.map((line) => JSON.parse(line).resourceType)).toEqual(['AuditEvent', 'AuditEvent']);
      // At most 0640 (the umask may take more away): nobody but its owner writes it, no one else reads it.
      expect((await stat(path)).mode & 0o777 & ~0o640).toBe(0);
      // The folder removed between deliveries: the next one makes it again and delivers.
      await rm(join(dir, 'audit'), { recursive: true });
      await trail.record(written(3));
      expect(await trail.deliverPending()).toBe(1);
      const [line] = (await readFile(path, 'utf8')).trimEnd().split('\n');
      expect(line).toMatch(/ecg-3/);
    } finally {
      await trail.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("makes the AuditEvent at the turn's end, not while the feed that records it is still to answer its sender", async () => {
    const trail = new AuditTrail({ redis, prefix: `${prefix}:late`, logger: createLogger('silent') });
    let reads = 0;
    const fact = {
      ...written(99),
      get ecgId() {
        reads++;
        return 'ecg-99';
      },
    };
    const recorded = trail.record(fact);
    expect(reads).toBe(0);
    await recorded;
    expect(reads).toBeGreaterThan(0);
    expect(await trail.pending()).toBe(1);
    await trail.close();
  });
});

describe('senderOf', () => {
  const at = '2026-01-01T00:00:00.000Z';
  it('C-STORE: the calling AE title and the peer address', () => {
    expect(senderOf({ feed: 'cstore', receivedAt: at, remote: 'CART7', peer: '10.0.0.7' })).toEqual({
      aeTitle: 'CART7',
      address: '10.0.0.7',
    });
  });
  it('HTTP and STOW: the address and the API key id or certificate subject', () => {
    expect(senderOf({ feed: 'http', receivedAt: at, remote: '10.0.0.8', principal: 'api-key:0123456789ab' })).toEqual({
      address: '10.0.0.8',
      apiKeyId: '0123456789ab',
    });
    expect(senderOf({ feed: 'stow', receivedAt: at, remote: '10.0.0.9', principal: 'cert:gateway' })).toEqual({
      address: '10.0.0.9',
      certSubject: 'gateway',
    });
  });
  it('folder: the drop folder, never the file name (a file name may hold a patient name)', () => {
    expect(senderOf({ feed: 'folder', receivedAt: at, name: 'DOE_JOHN.xml' }, '/data/drop')).toEqual({
      folder: '/data/drop',
    });
  });
});

describe('auditSinkFromConfig', () => {
  const config = (audit: Record<string, unknown>, fhirUrl?: string) =>
    loadConfig({
      env: {},
      overrides: [
        { path: ['audit'], value: audit },
        { path: ['fhir', 'url'], value: fhirUrl },
      ],
    });
  it('file by default, fhir to the audit URL or the EHR, none', () => {
    expect(auditSinkFromConfig(loadConfig({ env: {} }))?.name).toBe('file');
    expect(auditSinkFromConfig(config({ sink: 'fhir' }, 'https://ehr.example.org/fhir'))?.name).toBe('fhir');
    expect(auditSinkFromConfig(config({ sink: 'fhir', fhirUrl: 'https://arr.example.org/fhir' }))?.name).toBe('fhir');
    expect(auditSinkFromConfig(config({ sink: 'none' }))).toBeUndefined();
  });
  it('takes the sink from the environment', () => {
    const env = {
      ECGCAD_AUDIT_SINK: 'fhir',
      ECGCAD_AUDIT_FHIR_URL: 'https://arr.example.org/fhir',
      ECGCAD_AUDIT_FILE: '/var/audit/a.jsonl',
    };
    expect(loadConfig({ env }).audit).toMatchObject({
      sink: 'fhir',
      fhirUrl: 'https://arr.example.org/fhir',
      file: '/var/audit/a.jsonl',
    });
  });

  it('refuses a fhir sink without a URL', () => {
    expect(() => auditSinkFromConfig(config({ sink: 'fhir' }))).toThrow(ConfigError);
  });
});
