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
 *
 * Writes are coalesced per event-loop turn: every ECG recorded (or captured) in one turn, such as the ECGs of one
 * infer batch, goes out in that turn's check phase (setImmediate): one script call per bucket hash with each
 * field's increments summed (atomic, as the MULTI per ECG was), one RPUSH for captured rows. A MULTI of about 17
 * commands per ECG cost more than the counting itself. Nothing waits on a timer, so a crash loses
 * what it lost before: at most the writes of the turn it hit, which were never acknowledged to anyone (drift
 * counts are monitoring, not patient data, and no job waits for them).
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

/** Bucket hashes to increment: hash key -> its bucket start, index key and summed field increments. */
type Increments = Map<string, { start: number; index: string; fields: Map<string, number> }>;

/** The writes of one event-loop turn, sent together at its end. */
interface Turn {
  increments: Increments;
  /** Captured rows (JSON), in call order. */
  rows: string[];
  limit: number;
  /** Settles once they have run: the capture list's length after the push (0 when no row was captured). */
  sent: Promise<number>;
  resolve(length: number): void;
  reject(err: unknown): void;
}

export class DriftStore {
  private readonly now: () => number;
  private turn: Turn | undefined;

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

  /** Adds one ECG to the current bucket; resolves once the write that carries it has run. */
  async record(observation: BinnedObservation, fingerprint: string): Promise<void> {
    const start = this.bucketStart();
    const key = `${this.options.scope}:${fingerprint}:b:${start}`;
    const turn = this.currentTurn();
    let bucket = turn.increments.get(key);
    if (!bucket) {
      bucket = { start, index: `${this.options.scope}:${fingerprint}:buckets`, fields: new Map() };
      turn.increments.set(key, bucket);
    }
    const fields = bucket.fields;
    for (const [measure, bin] of Object.entries(observation.bins)) add(fields, `m|${measure}|${bin}`);
    for (const [vessel, stratum] of Object.entries(observation.strata)) add(fields, `s|${vessel}|${stratum}`);
    add(fields, 'n');
    await turn.sent;
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

  /** Keeps one ECG's values for the live reference; returns its place in the list (at most `limit`). */
  async capture(row: unknown, limit: number): Promise<number> {
    const turn = this.currentTurn();
    turn.rows.push(JSON.stringify(row));
    turn.limit = Math.min(turn.limit, limit);
    const after = turn.rows.length;
    const length = await turn.sent;
    // The rows of one turn go out in one RPUSH, in call order: this one's place is its rank among them.
    return Math.min(length - turn.rows.length + after, limit);
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

  /** The writes of this turn; the first call in a turn schedules them for the turn's end. */
  private currentTurn(): Turn {
    if (this.turn) return this.turn;
    let resolve!: Turn['resolve'];
    let reject!: Turn['reject'];
    const sent = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const turn: Turn = { increments: new Map(), rows: [], limit: Number.POSITIVE_INFINITY, sent, resolve, reject };
    // Each caller awaits `sent`; a failure reaches them all, never as an unhandled rejection here.
    turn.sent.catch(() => {});
    this.turn = turn;
    setImmediate(() => this.send(turn));
    return turn;
  }

  /**
   * The turn's writes: the captured rows in one RPUSH, each bucket's summed increments in one script call (atomic
   * as a MULTI was; a plain command builds no ioredis Pipeline, which copies every script BullMQ defined on the
   * connection).
   */
  private send(turn: Turn): void {
    this.turn = undefined;
    const writes: Array<Promise<unknown>> = [];
    let captured: Promise<number> = Promise.resolve(0);
    if (turn.rows.length > 0) {
      const key = `${this.options.scope}:capture`;
      captured = this.redis.rpush(key, ...turn.rows).then(async (length) => {
        if (length > turn.limit) await this.redis.ltrim(key, 0, turn.limit - 1);
        return length;
      });
    }
    const ttl = Math.ceil(this.options.windowDays * 86_400 + 86_400 + this.options.bucketS);
    for (const [key, bucket] of turn.increments) {
      const args: Array<string | number> = [ttl, bucket.start];
      for (const [field, count] of bucket.fields) args.push(field, count);
      writes.push(this.redis.eval(RECORD_BUCKET, 2, key, bucket.index, ...args));
    }
    Promise.all([captured, ...writes]).then(([length]) => turn.resolve(length), turn.reject);
  }
}

/** KEYS: the bucket's hash, the bucket index; ARGV: the hash's TTL (s), the bucket start, then field, increment pairs. */
const RECORD_BUCKET = `
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
return 0`;

function add(fields: Map<string, number>, field: string): void {
  fields.set(field, (fields.get(field) ?? 0) + 1);
}
