/**
 * The audit trail at the edges: facts become AuditEvents (buildAuditEvent, @ecgcad/fhir-writer), wait in a Redis
 * list (durable as the queues themselves: same Redis, noeviction, AOF), and are delivered in batches to the
 * configured sink: an append-only JSON lines file or the EHR (their own transaction Bundles, apart from results).
 * A sink that fails leaves the events in Redis and is retried; Redis out of reach leaves them in memory and they are
 * pushed when it is back. Delivery is at least once (a crash between delivery and trim repeats a batch).
 * Any number of engine processes record; one at a time (a Redis lock) delivers, oldest first.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, EcgcadError, isTransient, type StageEvent, type StageEventListener } from '@ecgcad/ecg';
import {
  type AuditActor,
  type AuditFact,
  type AuditSelf,
  auditBundle,
  buildAuditEvent,
  FhirClient,
} from '@ecgcad/fhir-writer';
import type { Intake, IntakeMeta, PeerRefusal } from '@ecgcad/ingest';
import type { Redis } from 'ioredis';
import type { EngineConfig } from './config.js';
import { fhirAuthFromConfig } from './fhir-auth.js';
import type { Logger } from './logger.js';

/** One AuditEvent. */
export type AuditEventResource = ReturnType<typeof buildAuditEvent>;

/** Where AuditEvents end up. `deliver` (and `deliverLines`) throw when they were not all stored. */
export interface AuditSink {
  readonly name: string;
  deliver(events: AuditEventResource[]): Promise<void>;
  /**
   * Optional: delivers events as the JSON they wait in Redis as (one string each, oldest first), for a sink that
   * stores JSON as it is; the trail then neither parses them nor the sink serialises them again.
   */
  deliverLines?(lines: string[]): Promise<void>;
}

/** Appends one JSON line per event to a file (created 0640 with its folder) and fsyncs before it returns. */
export class JsonLinesAuditSink implements AuditSink {
  readonly name = 'file';
  constructor(readonly path: string) {}

  async deliver(events: AuditEventResource[]): Promise<void> {
    await this.deliverLines(events.map((e) => JSON.stringify(e)));
  }

  async deliverLines(lines: string[]): Promise<void> {
    const file = await this.open();
    try {
      await file.appendFile(lines.map((line) => `${line}\n`).join(''));
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /** Opens the file to append; its folder is made when missing (at the first delivery, or after it was removed). */
  private async open(): Promise<FileHandle> {
    try {
      return await open(this.path, 'a', 0o640);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(this.path), { recursive: true });
      return open(this.path, 'a', 0o640);
    }
  }
}

/** POSTs each batch as a transaction Bundle of AuditEvent creates (never inside a result Bundle). */
export class FhirAuditSink implements AuditSink {
  readonly name = 'fhir';
  constructor(private readonly client: Pick<FhirClient, 'postTransaction'>) {}

  async deliver(events: AuditEventResource[]): Promise<void> {
    await this.client.postTransaction(auditBundle(events));
  }
}

/** Options of {@link AuditTrail}. */
export interface AuditTrailOptions {
  redis: Redis;
  /** Key prefix (the queues' `{...}` prefix). The list is `<prefix>:audit:pending`. */
  prefix: string;
  /** Where events go; without one this process only records (e.g. `ecgcad dlq replay`). */
  sink?: AuditSink;
  self?: AuditSelf;
  logger: Logger;
  /** Events per delivery. Default 100. */
  batch?: number;
  /** Delivery period and retry delay, ms. Default 1000. */
  intervalMs?: number;
}

const RELEASE_LOCK =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** The durable audit trail of one process. Call {@link start} to deliver, {@link close} at shutdown. */
export class AuditTrail {
  readonly key: string;
  private readonly lockKey: string;
  private readonly token = randomUUID();
  private readonly batch: number;
  private readonly intervalMs: number;
  /** Events not yet in Redis (it was out of reach), oldest first. */
  private buffered: string[] = [];
  /** Facts of this turn, made into AuditEvents at its end, once the senders' answers are on their way. */
  private unbuilt: AuditFact[] = [];
  private pushing: Promise<void> | undefined;
  /** The push at the end of this turn, once a fact was recorded in it. */
  private scheduled: Promise<void> | undefined;
  private delivering: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sinkFailing = false;

  constructor(private readonly options: AuditTrailOptions) {
    this.key = `${options.prefix}:audit:pending`;
    this.lockKey = `${options.prefix}:audit:lock`;
    this.batch = options.batch ?? 100;
    this.intervalMs = options.intervalMs ?? 1000;
  }

  /**
   * Records a fact; resolves once it is in Redis (or buffered in memory when Redis is away). Never throws.
   * The facts of one event-loop turn go out in one LPUSH in the turn's check phase (setImmediate, where the engine's
   * connections uncork: coalesceWrites): no timer, so no fact waits in memory past its own turn.
   */
  record(fact: AuditFact): Promise<void> {
    this.unbuilt.push(fact);
    this.scheduled ??= new Promise<void>((resolve) => {
      setImmediate(() => {
        this.scheduled = undefined;
        resolve(this.push());
      });
    });
    return this.scheduled;
  }

  /**
   * Makes the recorded facts into AuditEvents (JSON). Done at the turn's end, not in record(): a feed records a fact
   * before it answers its sender, and building the event is not what the sender waits for.
   */
  private build(): void {
    const facts = this.unbuilt;
    this.unbuilt = [];
    for (const fact of facts) {
      try {
        this.buffered.push(JSON.stringify(buildAuditEvent(fact, this.options.self)));
      } catch (err) {
        this.options.logger.error(
          { kind: fact.kind, errorClass: (err as Error)?.name },
          'could not build an AuditEvent',
        );
      }
    }
  }

  /** Events waiting in Redis for delivery. */
  async pending(): Promise<number> {
    return this.options.redis.llen(this.key);
  }

  /** Moves buffered events into Redis, oldest first. */
  private push(): Promise<void> {
    this.build();
    this.pushing ??= (async () => {
      while (this.buffered.length > 0) {
        const chunk = this.buffered.slice(0, 500);
        try {
          await this.options.redis.lpush(this.key, ...chunk);
        } catch (err) {
          this.options.logger.warn(
            { buffered: this.buffered.length, error: err instanceof Error ? err.message : String(err) },
            'audit: Redis out of reach; events kept in memory until it is back',
          );
          return;
        }
        this.buffered.splice(0, chunk.length);
      }
    })().finally(() => {
      this.pushing = undefined;
    });
    return this.pushing;
  }

  /** Delivers pending events to the sink until none is left or the sink fails. Returns the number delivered. */
  deliverPending(): Promise<number> {
    this.delivering ??= this.deliverLoop().finally(() => {
      this.delivering = undefined;
    });
    return this.delivering;
  }

  private async deliverLoop(): Promise<number> {
    const { redis, sink, logger } = this.options;
    if (!sink) return 0;
    let delivered = 0;
    try {
      const locked = await redis.set(this.lockKey, this.token, 'PX', Math.max(30_000, this.intervalMs * 10), 'NX');
      if (locked !== 'OK') return 0;
    } catch {
      return 0; // Redis away: the events are safe where they are
    }
    try {
      for (;;) {
        // Newest at the head (LPUSH), so the tail holds the oldest: deliver those, then trim exactly them.
        const raw = await redis.lrange(this.key, -this.batch, -1);
        if (raw.length === 0) break;
        const lines = raw.reverse();
        try {
          if (sink.deliverLines) await sink.deliverLines(lines);
          else await sink.deliver(lines.map((line) => JSON.parse(line) as AuditEventResource));
        } catch (err) {
          if (!this.sinkFailing) {
            logger.error(
              { sink: sink.name, pending: await redis.llen(this.key), error: errorText(err) },
              'audit sink failed; events stay in Redis and are retried',
            );
          }
          this.sinkFailing = true;
          break;
        }
        if (this.sinkFailing) logger.info({ sink: sink.name }, 'audit sink delivers again');
        this.sinkFailing = false;
        await redis.ltrim(this.key, 0, -(raw.length + 1));
        delivered += raw.length;
        // A short batch was all there was: what came in meanwhile waits for the next round (at most intervalMs), so
        // a steady stream goes out in batches rather than a few events per delivery (an open, fsync and close of
        // the file, three round trips) as fast as deliveries can follow each other.
        if (raw.length < this.batch) break;
        await redis.pexpire(this.lockKey, Math.max(30_000, this.intervalMs * 10));
      }
    } catch (err) {
      logger.warn({ error: errorText(err) }, 'audit delivery interrupted; retried later');
    } finally {
      await redis.eval(RELEASE_LOCK, 1, this.lockKey, this.token).catch(() => {});
    }
    return delivered;
  }

  /** Starts periodic pushing and delivery. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.push().then(() => this.deliverPending());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and makes a last attempt to push and deliver. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.push();
    await this.deliverPending();
    if (this.buffered.length > 0) {
      this.options.logger.error({ lost: this.buffered.length }, 'audit: events could not reach Redis before shutdown');
    }
  }
}

function errorText(err: unknown): string {
  if (err instanceof EcgcadError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Who sent a payload, from what its feed knew. */
export function senderOf(meta: IntakeMeta, folderDir?: string): AuditActor {
  if (meta.feed === 'folder') return { folder: folderDir ?? 'drop folder' };
  if (meta.feed === 'cstore') {
    return { ...(meta.remote ? { aeTitle: meta.remote } : {}), ...(meta.peer ? { address: meta.peer } : {}) };
  }
  const principal = meta.principal ?? '';
  return {
    ...(meta.remote ? { address: meta.remote } : {}),
    ...(principal.startsWith('api-key:') ? { apiKeyId: principal.slice('api-key:'.length) } : {}),
    ...(principal.startsWith('cert:') ? { certSubject: principal.slice('cert:'.length) } : {}),
  };
}

/** An intake that records a `received` event for each ECG taken and a `refused` one for each payload refused. */
export function auditedIntake(intake: Intake, trail: AuditTrail, options: { folderDir?: string } = {}): Intake {
  return async (bytes, meta) => {
    const sender = senderOf(meta, options.folderDir);
    try {
      const receipt = await intake(bytes, meta);
      void trail.record({
        kind: 'received',
        feed: meta.feed,
        at: meta.receivedAt,
        sender,
        ecgId: receipt.ecgId,
        ...(receipt.duplicate ? { duplicate: true } : {}),
      });
      return receipt;
    } catch (err) {
      // A transient failure is no refusal: the sender is told to retry.
      if (!isTransient(err)) {
        void trail.record({
          kind: 'refused',
          feed: meta.feed,
          at: meta.receivedAt,
          sender,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          // EcgcadError messages are patient-free by contract; anything else is named by its class only.
          reason:
            err instanceof EcgcadError ? `${err.code}: ${err.message}` : `internal error (${(err as Error)?.name})`,
        });
      }
      throw err;
    }
  };
}

/** A feed listener that records a `refused` event for each sender refused before a payload was taken. */
export function auditPeerRefusals(trail: AuditTrail, folderDir?: string): (refusal: PeerRefusal) => void {
  return (refusal) => {
    const sender: AuditActor =
      refusal.feed === 'folder'
        ? { folder: folderDir ?? 'drop folder' }
        : {
            ...(refusal.feed === 'cstore' && refusal.remote ? { aeTitle: refusal.remote } : {}),
            ...(refusal.peer ? { address: refusal.peer } : {}),
          };
    void trail.record({
      kind: 'refused',
      feed: refusal.feed,
      at: refusal.at,
      sender,
      reason: `${refusal.code}: ${refusal.reason}`,
    });
  };
}

/** A stage-event listener that records a `written` event per write job done or dead-lettered. */
export function auditWrites(trail: AuditTrail, target: string): StageEventListener {
  return (event: StageEvent) => {
    if (event.stage !== 'write' || event.outcome === 'retry') return;
    void trail.record({
      kind: 'written',
      at: new Date().toISOString(),
      ecgId: event.ecgId,
      target,
      ...(event.outcome === 'failed' ? { failed: true, ...(event.reason ? { reason: event.reason } : {}) } : {}),
    });
  };
}

/** The sink the configuration names (undefined for `none`). ConfigError for `fhir` without a URL. */
export function auditSinkFromConfig(config: EngineConfig): AuditSink | undefined {
  if (config.audit.sink === 'none') return undefined;
  if (config.audit.sink === 'file') return new JsonLinesAuditSink(config.audit.file);
  const baseUrl = config.audit.fhirUrl ?? config.fhir.url;
  if (!baseUrl) throw new ConfigError(['audit.sink: fhir needs audit.fhirUrl or fhir.url']);
  return new FhirAuditSink(
    new FhirClient({ baseUrl, timeoutMs: config.fhir.timeoutMs, auth: fhirAuthFromConfig(config.fhir) }),
  );
}
