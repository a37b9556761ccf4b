/**
 * The rolling drift window in Redis, kept across restarts and shared by every infer worker: one hash per time
 * bucket (default one hour) with a counter per measure and bin, per vessel and stratum, and the ECG count:
 *
 *   <scope>:b:<bucket start, epoch s>   HINCRBY m|<measure>|<bin>, s|<vessel>|<stratum>, n
 *   <scope>:buckets                     ZSET of bucket starts (score = start)
 *
 * A window is the newest buckets within `windowDays`, cut after the bucket that brings it to `windowEcgs` ECGs
 * (whole buckets: it may hold up to one bucket more). Buckets expire a day after they leave the time window.
 * While no reference profile exists, the first N ECGs' measure values are kept in `<scope>:capture` (a list), and
 * the profile built from them in `<scope>:reference` (SET NX, so concurrent workers agree on one).
 */
import type { Redis } from 'ioredis';

/** Options of {@link DriftStore}. */
export interface DriftStoreOptions {
  /** Key prefix of this model and reference, e.g. `{ecgcad}:monitor:<model>@<version>`. */
  scope: string;
  bucketS: number;
  windowDays: number;
  windowEcgs: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** The window's counts: per measure, counts per bin; per vessel and stratum, counts. */
export interface DriftWindow {
  n: number;
  measures: Record<string, number[]>;
  strata: Record<string, Record<string, number>>;
  /** Oldest bucket start in the window (ISO), where any. */
  since?: string;
}

/** One ECG's bins: measure -> bin index, and vessel -> stratum. */
export interface BinnedObservation {
  bins: Record<string, number>;
  strata: Record<string, string>;
}

export class DriftStore {
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly options: DriftStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  private bucketStart(): number {
    const s = Math.floor(this.now() / 1000);
    return s - (s % this.options.bucketS);
  }

  /** Adds one ECG to the current bucket. */
  async record(observation: BinnedObservation, fingerprint: string): Promise<void> {
    const start = this.bucketStart();
    const key = `${this.options.scope}:${fingerprint}:b:${start}`;
    const multi = this.redis.multi();
    for (const [measure, bin] of Object.entries(observation.bins)) multi.hincrby(key, `m|${measure}|${bin}`, 1);
    for (const [vessel, stratum] of Object.entries(observation.strata)) multi.hincrby(key, `s|${vessel}|${stratum}`, 1);
    multi.hincrby(key, 'n', 1);
    multi.expire(key, Math.ceil(this.options.windowDays * 86_400 + 86_400 + this.options.bucketS));
    multi.zadd(`${this.options.scope}:${fingerprint}:buckets`, start, String(start));
    await multi.exec();
  }

  /** The current window, binned as `binCounts` says (measure -> number of bins). */
  async window(fingerprint: string, binCounts: Readonly<Record<string, number>>): Promise<DriftWindow> {
    const nowS = Math.floor(this.now() / 1000);
    const from = nowS - this.options.windowDays * 86_400;
    const index = `${this.options.scope}:${fingerprint}:buckets`;
    // Buckets that left the time window are dropped from the index (their hashes expire by themselves).
    await this.redis.zremrangebyscore(index, '-inf', `(${from - this.options.bucketS}`);
    const starts = await this.redis.zrevrangebyscore(index, '+inf', from - this.options.bucketS + 1);
    const measures: Record<string, number[]> = {};
    for (const [m, bins] of Object.entries(binCounts)) measures[m] = new Array<number>(bins).fill(0);
    const strata: Record<string, Record<string, number>> = {};
    let n = 0;
    let since: number | undefined;
    for (const start of starts) {
      if (n >= this.options.windowEcgs) break;
      const hash = await this.redis.hgetall(`${this.options.scope}:${fingerprint}:b:${start}`);
      since = Number(start);
      for (const [field, value] of Object.entries(hash)) {
        const count = Number(value);
        if (field === 'n') {
          n += count;
          continue;
        }
        const [kind, a, b] = field.split('|') as [string, string, string];
        if (kind === 'm') {
          const bins = measures[a];
          const bin = Number(b);
          if (bins && bin >= 0 && bin < bins.length) bins[bin] = (bins[bin] as number) + count;
        } else if (kind === 's') {
          const row = strata[a] ?? {};
          row[b] = (row[b] ?? 0) + count;
          strata[a] = row;
        }
      }
    }
    return { n, measures, strata, ...(since === undefined ? {} : { since: new Date(since * 1000).toISOString() }) };
  }

  /** Keeps one ECG's values for the live reference; returns how many are kept (at most `limit`). */
  async capture(row: unknown, limit: number): Promise<number> {
    const key = `${this.options.scope}:capture`;
    const length = await this.redis.rpush(key, JSON.stringify(row));
    if (length > limit) await this.redis.ltrim(key, 0, limit - 1);
    return Math.min(length, limit);
  }

  /** The captured rows. */
  async captured(): Promise<unknown[]> {
    const rows = await this.redis.lrange(`${this.options.scope}:capture`, 0, -1);
    return rows.map((r) => JSON.parse(r) as unknown);
  }

  /** The live reference profile stored earlier (JSON), if any. */
  async storedReference(): Promise<string | undefined> {
    return (await this.redis.get(`${this.options.scope}:reference`)) ?? undefined;
  }

  /** Stores the live reference unless one exists; returns the one that is stored now. */
  async storeReference(json: string): Promise<string> {
    await this.redis.set(`${this.options.scope}:reference`, json, 'NX');
    return (await this.storedReference()) ?? json;
  }
}
