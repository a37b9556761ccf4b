import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MalformedInputError, NotAnalysableError, TransientError } from '@ecgcad/ecg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RejectedStore } from '../rejected-store.js';
import { type FeedLogger, type FeedOutcome, handOver, type Intake } from './intake.js';

describe('handOver', () => {
  let dir: string;
  let rejected: RejectedStore;
  const lines: { level: string; fields: Record<string, unknown>; msg?: string }[] = [];
  const logger: FeedLogger = {
    info: (fields, msg) => lines.push({ level: 'info', fields, msg }),
    warn: (fields, msg) => lines.push({ level: 'warn', fields, msg }),
    error: (fields, msg) => lines.push({ level: 'error', fields, msg }),
  };
  const meta = { feed: 'http', receivedAt: '2026-01-01T00:00:00.000Z', name: 'DOE_JOHN_19500101.xml' };
  const bytes = new TextEncoder().encode('<AnnotatedECG><name>DOE^JOHN</name></AnnotatedECG>');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecgcad-handover-'));
    rejected = await RejectedStore.open(dir);
    lines.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (intake: Intake, outcomes: FeedOutcome[] = []) =>
    handOver(bytes, meta, { intake, rejected, logger, onOutcome: (_f, o) => outcomes.push(o) });

  it('accepts, and reports the outcome once', async () => {
    const outcomes: FeedOutcome[] = [];
    const result = await run(async () => ({ ecgId: 'e1' }), outcomes);
    expect(result).toMatchObject({ outcome: 'accepted', receipt: { ecgId: 'e1' } });
    expect(outcomes).toEqual(['accepted']);
    expect(await rejected.list()).toEqual([]);
  });

  it('refuses permanent errors and keeps the bytes with the reason', async () => {
    const result = await run(async () => {
      throw new MalformedInputError('aecg', 'no RHYTHM series', '/AnnotatedECG');
    });
    expect(result.outcome).toBe('refused');
    if (result.outcome !== 'refused') return;
    expect(result.code).toBe('MALFORMED');
    const kept = await rejected.get(result.rejectedId!);
    expect(kept?.bytes).toEqual(bytes);
    expect(kept?.entry.reason).toEqual({ code: 'MALFORMED', message: 'no RHYTHM series (at /AnnotatedECG)' });

    const notAnalysable = await run(async () => {
      throw new NotAnalysableError(['lead V3 is flat']);
    });
    expect(notAnalysable).toMatchObject({ outcome: 'refused', code: 'NOT_ANALYSABLE' });
  });

  it('asks for a retry on transient errors and on unknown ones, keeping nothing', async () => {
    const transient = await run(async () => {
      throw new TransientError('redis down', { retryAfterMs: 1500 });
    });
    expect(transient).toMatchObject({ outcome: 'retry', reason: 'redis down', retryAfterMs: 1500 });
    const unknown = await run(async () => {
      throw new TypeError('Cannot read properties of undefined (DOE^JOHN)');
    });
    expect(unknown.outcome).toBe('retry');
    // A foreign error's message may quote input: it never reaches the sender or the log.
    if (unknown.outcome === 'retry') expect(unknown.reason).not.toMatch(/DOE/);
    expect(await rejected.list()).toEqual([]);
  });

  it('never logs the sender file name or message text from foreign errors', async () => {
    await run(async () => ({ ecgId: 'e1' }));
    await run(async () => {
      throw new MalformedInputError('aecg', 'bad');
    });
    await run(async () => {
      throw new Error('DOE^JOHN');
    });
    const logged = JSON.stringify(lines);
    expect(logged).not.toMatch(/DOE/);
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn', 'warn']);
  });

  it('still answers when the rejected store fails or the metrics hook throws', async () => {
    await rm(dir, { recursive: true, force: true });
    const result = await handOver(bytes, meta, {
      intake: async () => {
        throw new MalformedInputError('dicom', 'bad');
      },
      rejected,
      logger,
      onOutcome: () => {
        throw new Error('metrics broke');
      },
    });
    expect(result).toMatchObject({ outcome: 'refused', code: 'MALFORMED' });
    if (result.outcome === 'refused') expect(result.rejectedId).toBeUndefined();
    expect(lines.some((l) => l.level === 'error')).toBe(true);
  });
});
