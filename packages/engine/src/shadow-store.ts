/**
 * The durable shadow results store: one ShadowRecord per ECG both models scored (ECG id, model tags,
 * probabilities and strata: no patient data). `ecgcad shadow report` reads it.
 *
 * Queued mode, Redis: one stream per live/shadow model pair, trimmed to `maxRecords` and to `retentionDays`
 * (XTRIM MINID), the key expiring `retentionDays` after its last record; a sorted set lists the pairs (score = last
 * record, ms):
 *
 *   <prefix>:shadow:<live id@version>|<shadow id@version>   XADD * r <record JSON>
 *   <prefix>:shadow:pairs                                  ZADD <ms> <live>|<shadow>
 *
 * Embedded mode: one JSON line per record appended to a file (default `<out>/shadow-results.jsonl`).
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ShadowRecord, type ShadowSide, STRATA } from '@ecgcad/infer';
import type { Redis } from 'ioredis';

/** Where shadow records go and come back from. */
export interface ShadowStore {
  append(record: ShadowRecord): Promise<void>;
  /** Every record kept for the pair, oldest first (an ECG recorded twice appears twice). */
  records(): Promise<ShadowRecord[]>;
}

/** `<live>|<shadow>`: the name of a model pair. */
export function pairName(live: string, shadow: string): string {
  return `${live}|${shadow}`;
}

function isSide(value: unknown): value is ShadowSide {
  if (typeof value !== 'object' || value === null) return false;
  const side = value as Partial<ShadowSide>;
  return (
    typeof side.model === 'string' &&
    Array.isArray(side.vessels) &&
    side.vessels.every(
      (v) =>
        typeof v?.vessel === 'string' &&
        typeof v.probability === 'number' &&
        (STRATA as readonly string[]).includes(v.stratum),
    )
  );
}

/** A stored record, or undefined when the value is not one (a cut line, another program's data). */
export function parseShadowRecord(value: unknown): ShadowRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Partial<ShadowRecord>;
  if (typeof r.ecgId !== 'string' || typeof r.at !== 'string' || typeof r.written !== 'boolean') return undefined;
  if (!isSide(r.live) || !isSide(r.shadow)) return undefined;
  return { ecgId: r.ecgId, at: r.at, live: r.live, shadow: r.shadow, written: r.written };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Options of {@link RedisShadowStore}. */
export interface RedisShadowStoreOptions {
  /** The engine's key prefix (`redis.prefix`, e.g. `{ecgcad}`). */
  prefix: string;
  /** The pair's name ({@link pairName}). */
  pair: string;
  retentionDays: number;
  maxRecords: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Shadow records in a Redis stream per model pair. */
export class RedisShadowStore implements ShadowStore {
  private readonly key: string;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisShadowStoreOptions,
  ) {
    this.key = `${options.prefix}:shadow:${options.pair}`;
    this.now = options.now ?? Date.now;
  }

  /** The model pairs with records, newest first. */
  static async pairs(redis: Redis, prefix: string): Promise<string[]> {
    return redis.zrevrange(`${prefix}:shadow:pairs`, 0, -1);
  }

  async append(record: ShadowRecord): Promise<void> {
    const now = this.now();
    const retentionMs = Math.ceil(this.options.retentionDays * 86_400_000);
    const index = `${this.options.prefix}:shadow:pairs`;
    await this.redis
      .multi()
      .xadd(this.key, 'MAXLEN', '~', this.options.maxRecords, '*', 'r', JSON.stringify(record))
      .xtrim(this.key, 'MINID', '~', String(Math.max(0, now - retentionMs)))
      .pexpire(this.key, retentionMs)
      .zadd(index, now, this.options.pair)
      .zremrangebyscore(index, '-inf', `(${now - retentionMs}`)
      .pexpire(index, retentionMs)
      .exec();
  }

  async records(): Promise<ShadowRecord[]> {
    const out: ShadowRecord[] = [];
    let start = '-';
    for (;;) {
      const entries = await this.redis.xrange(this.key, start, '+', 'COUNT', 1000);
      for (const [, fields] of entries) {
        const at = fields.indexOf('r');
        const record = at >= 0 ? parseShadowRecord(parseJson(fields[at + 1] ?? '')) : undefined;
        if (record) out.push(record);
      }
      if (entries.length < 1000) return out;
      start = `(${(entries[entries.length - 1] as [string, string[]])[0]}`;
    }
  }
}

/** Shadow records as JSON lines in a file (embedded mode). */
export class JsonlShadowStore implements ShadowStore {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  append(record: ShadowRecord): Promise<void> {
    // One append at a time, so concurrent records never interleave within a line.
    const next = this.chain.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      await appendFile(this.file, `${JSON.stringify(record)}\n`);
    });
    this.chain = next.catch(() => {});
    return next;
  }

  async records(): Promise<ShadowRecord[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: ShadowRecord[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const record = parseShadowRecord(parseJson(line));
      if (record) out.push(record);
    }
    return out;
  }
}
