/**
 * Queued mode: any mix of feeds and stage workers in one process, on Redis. `ecgcad serve` runs everything;
 * `ecgcad worker <stage>` runs one stage (scale out per stage, e.g. KEDA on queue depth).
 *
 * Start: connections (workers retry for ever; producers fail fast), Redis eviction-policy check, queues, stage
 * workers, then the feeds last, so nothing is accepted before it can be processed.
 * Close (SIGTERM): feeds first (stop taking work; in-flight hand-overs finish), then workers (`worker.close()` waits
 * for active jobs), then the model session, queues and connections.
 */
import { join } from 'node:path';
import { EcgHandoff, type RetryPolicy, type SourceDecoder, type StageEvent, type StageName } from '@ecgcad/ecg';
import { startWriteWorker } from '@ecgcad/fhir-writer/worker';
import type { Predictor } from '@ecgcad/infer';
import { startInferWorker } from '@ecgcad/infer/worker';
import {
  apiKeyId,
  type DimseFeed,
  decodeEcg,
  type FeedLogger,
  type FolderFeed,
  RejectedStore,
  type RetentionTarget,
  startDimseFeed,
  startFolderFeed,
  startRetentionSweep,
  withBackpressure,
} from '@ecgcad/ingest';
import { createQueuedIntake } from '@ecgcad/ingest/queued-intake';
import { startIngestWorker } from '@ecgcad/ingest/worker';
import { coalesceWrites, type StageJobRetention, type Worker } from '@ecgcad/queue';
import type { Redis } from 'ioredis';
import { appRouteOptions } from './app-routes.js';
import { AuditTrail, auditedIntake, auditPeerRefusals, auditSinkFromConfig, auditWrites } from './audit-trail.js';
import { RedisReplayStore } from './cds/redis-replay-store.js';
import { cdsRoutesOptionsFromConfig } from './cds/setup.js';
import type { EngineConfig } from './config.js';
import { dimseFeedSettings } from './dimse-options.js';
import { checkHttpExposure, clientCertAuth } from './http-server.js';
import type { Logger } from './logger.js';
import { EngineMetrics } from './metrics.js';
import { ModelMonitor } from './monitoring.js';
import { ehrCheck, type OpsServer, type ReadinessCheck, redisCheck, startOpsServer } from './ops.js';
import { jobRetentionOf, keepPayloadsOfFailedJobs, openPayloadStore } from './payloads.js';
import {
  checkEvictionPolicy,
  checkRedisAuth,
  closeQueues,
  connectRedis,
  type EngineQueues,
  inferBacklog,
  openQueues,
  waitReady,
} from './redis.js';
import { ShadowMetrics } from './shadow-metrics.js';
import { startShadow } from './shadow-mode.js';
import { RedisShadowStore } from './shadow-store.js';
import { predictorFromConfig, writerFromConfig } from './stages.js';

/**
 * Decodes a payload the intake stored as the source bytes (a DICOM object as received) again, in the infer and write
 * stages, with the decoder and the default limits the feeds checked it with.
 */
const decodeStoredSource: SourceDecoder = (bytes, meta) => decodeEcg(bytes, meta);

/**
 * Bytes of lead data the infer -> write hand-off holds (the intake -> infer one keeps EcgHandoff's 32 MiB). The
 * EHR is usually the slowest stage (the test EHR is), so under load the write queue's backlog is the longer one: at
 * 32 MiB (about 130 12-lead ECGs of Float32 leads) the writer read about half the payloads back from Redis and decoded
 * them again at full blast (bench/e2e, GETs per ECG). The infer stage hands the leads on as their Int16 integers
 * (withIntegerLeads), so 64 MiB holds about 550 ten-second 12-lead ECGs at 500 Hz.
 */
const WRITE_HANDOFF_BYTES = 64 * 1024 * 1024;

/** Options of {@link startQueuedEngine}. */
export interface QueuedEngineOptions {
  config: EngineConfig;
  /** Stage workers to run here. */
  stages: StageName[];
  /** Run the feeds (C-STORE SCP, HTTP feeds, folder feed) as configured. */
  feeds: boolean;
  /** Run the HTTP server (ops endpoints, and the HTTP feeds when `feeds`). Default true. */
  http?: boolean;
  logger: Logger;
}

/** A running queued engine. */
export interface QueuedEngine {
  config: EngineConfig;
  queues: EngineQueues;
  metrics: EngineMetrics;
  predictor: Predictor | undefined;
  workers: Partial<Record<StageName, Worker>>;
  http: OpsServer | undefined;
  dimse: DimseFeed | undefined;
  folder: FolderFeed | undefined;
  /** The audit trail of this process (undefined only when the start failed early). */
  audit: AuditTrail | undefined;
  /** Graceful stop, in order: feeds, workers, model, queues, connections. Safe to call twice. */
  close(): Promise<void>;
}

function feedLogger(logger: Logger): FeedLogger {
  return {
    info: (fields, msg) => logger.info(fields, msg),
    warn: (fields, msg) => logger.warn(fields, msg),
    error: (fields, msg) => logger.error(fields, msg),
  };
}

/** Starts the configured parts. On a start failure, whatever had started is closed again. */
export async function startQueuedEngine(options: QueuedEngineOptions): Promise<QueuedEngine> {
  const { config, logger } = options;
  // Settings first: a missing certificate or plain DICOM on an open address stops the start before anything connects.
  const dimseSettings = options.feeds && config.dimse.enabled ? dimseFeedSettings(config.dimse) : undefined;
  const metrics = new EngineMetrics();
  const connections: Redis[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  const workers: Partial<Record<StageName, Worker>> = {};
  let predictor: Predictor | undefined;
  let http: OpsServer | undefined;
  let dimse: DimseFeed | undefined;
  let folder: FolderFeed | undefined;
  let closed = false;
  let audit: AuditTrail | undefined;

  // Before anything connects: an exposed plain-HTTP server is a configuration error, not a runtime surprise.
  if (options.http ?? true) checkHttpExposure(config.http, logger);
  const producer = connectRedis(config.redis, 'producer');
  const workerConnection = connectRedis(config.redis, 'worker');
  connections.push(producer, workerConnection);
  for (const connection of connections) {
    // ioredis reconnects by itself; log the outage once per event, without the URL (it may hold a password).
    connection.on('error', (err: Error) => logger.warn({ error: err.message }, 'redis connection error'));
    // The stages' commands of one tick in one system call (BullMQ's blocking connection is its own duplicate).
    coalesceWrites(connection);
  }
  const queues = openQueues(producer, config.redis.prefix);
  const workerQueues = openQueues(workerConnection, config.redis.prefix);
  metrics.watchQueues(queues);

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    logger.info({}, 'shutting down: feeds, then workers, then connections');
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        logger.warn({ step: what, error: err instanceof Error ? err.message : String(err) }, 'error while closing');
      }
    };
    if (dimse) await step('dimse feed', () => (dimse as DimseFeed).close());
    if (folder) await step('folder feed', () => (folder as FolderFeed).close());
    if (http) await step('http server', () => (http as OpsServer).close());
    await Promise.all(Object.values(workers).map((w) => step('worker', () => w.close())));
    for (const closer of closers.reverse()) await step('stage', closer);
    await step('queues', () => closeQueues(queues));
    await step('worker queues', () => closeQueues(workerQueues));
    if (audit) await step('audit trail', () => (audit as AuditTrail).close());
    for (const connection of connections) await step('redis', () => connection.quit());
    logger.info({}, 'stopped');
  };

  try {
    await waitReady(producer);
    await waitReady(workerConnection);
    await checkEvictionPolicy(producer, config.redis.evictionPolicyCheck, logger);
    await checkRedisAuth(config.redis, logger);
    // The payload TTL derives from the retention below: a payload outlives every job that may need it.
    const workerPayloads = openPayloadStore(workerConnection, config);
    const producerPayloads = openPayloadStore(producer, config);
    // The one retry policy, with how long finished jobs are kept (the payload TTL above derives from the latter).
    const retry: Partial<RetryPolicy> & StageJobRetention = { ...config.retry, ...jobRetentionOf(config) };
    // The audit trail: every process records; whichever holds the lock delivers to the sink.
    const auditSink = auditSinkFromConfig(config);
    if (!auditSink) logger.warn({}, '!!! audit.sink is none: no audit trail is kept !!!');
    audit = new AuditTrail({
      redis: producer,
      prefix: config.redis.prefix,
      ...(auditSink ? { sink: auditSink } : {}),
      self: { name: config.audit.name, aeTitle: config.dimse.aeTitle },
      logger,
      batch: config.audit.batch,
      intervalMs: config.audit.intervalMs,
    });
    const trail = audit;
    if (auditSink) trail.start();
    const recordWrite = auditWrites(trail, config.fhir.url ?? 'file');
    const common = {
      connection: workerConnection,
      prefix: config.redis.prefix,
      stalledIntervalMs: config.workers.stalledIntervalMs,
      maxStalledCount: config.workers.maxStalledCount,
      lockDurationMs: config.workers.lockDurationMs,
      onEvent: (event: StageEvent) => {
        metrics.onStageEvent(event);
        if (auditSink) recordWrite(event);
      },
      retry,
    };
    const checks: Record<string, ReadinessCheck> = { redis: redisCheck(producer) };
    // Only processes that take bytes (feeds, ingest worker) keep refused ones.
    const needsRejected = options.feeds || options.stages.includes('ingest');
    const rejected = needsRejected ? await RejectedStore.open(config.rejectedDir) : undefined;

    // Feeds and infer in this process: the infer stage takes the ECG a feed decoded (DICOM objects).
    const intakeHandoff = options.feeds && options.stages.includes('infer') ? new EcgHandoff() : undefined;
    // Infer and write in this process with the waveform on: the writer takes the ECG the infer stage decoded.
    const handoff =
      options.stages.includes('infer') && options.stages.includes('write') && config.fhir.waveform
        ? new EcgHandoff({ maxBytes: WRITE_HANDOFF_BYTES })
        : undefined;
    if (options.stages.includes('write')) {
      const writer = writerFromConfig(config);
      workers.write = startWriteWorker({
        ...common,
        writer,
        payloads: workerPayloads,
        decodeSource: decodeStoredSource,
        handoff,
        concurrency: config.workers.write,
        onWritten: metrics.onWritten,
      });
      if (config.fhir.url) checks.ehr = ehrCheck(config.fhir.url);
      if (config.fhir.url?.startsWith('http:')) {
        logger.warn({ security: 'insecure' }, 'INSECURE: the EHR is reached over plain http (fhir.allowInsecureHttp)');
      }
    }
    if (options.stages.includes('infer')) {
      predictor = await predictorFromConfig(config, {
        info: (fields, msg) => logger.info(fields, msg),
        warn: (fields, msg) => logger.warn(fields, msg),
      });
      predictor.batcher.on('batch', metrics.onBatch);
      const wanted = (config.model.instances + 1) * config.model.maxBatch;
      if (config.model.instances > 1 && config.workers.infer < wanted) {
        logger.warn(
          { instances: config.model.instances, maxBatch: config.model.maxBatch, inferJobs: config.workers.infer },
          `workers.infer ${config.workers.infer} keeps too few jobs in flight to fill ${config.model.instances} instances (want ${wanted})`,
        );
      }
      const loaded = predictor;
      closers.push(() => loaded.close());
      checks.model = async () => {
        if (!loaded.model.ref.sha256) throw new Error('model not loaded');
        if (!loaded.session.alive) throw new Error('inference session stopped');
      };
      const monitor = config.monitor.enabled
        ? await ModelMonitor.open({
            redis: producer,
            prefix: config.redis.prefix,
            modelDir: config.model.dir,
            model: predictor.model.ref,
            settings: config.monitor,
            registry: metrics.registry,
            onError: (err) => logger.warn({ error: err.message }, 'drift window write failed'),
          })
        : undefined;
      // At shutdown, after the infer worker: the drift counts of the last ECGs reach Redis before it is closed.
      if (monitor) closers.push(() => monitor.flush());
      const shadowSettings = config.model.shadow;
      const shadow = shadowSettings
        ? await startShadow({
            config,
            live: predictor,
            metrics: new ShadowMetrics(metrics.registry),
            logger,
            store: (pair) => new RedisShadowStore(producer, { prefix: config.redis.prefix, pair, ...shadowSettings }),
          })
        : undefined;
      if (shadow) closers.push(() => shadow.close());
      workers.infer = startInferWorker({
        ...common,
        predictor,
        ...(shadow ? { shadow } : {}),
        ...(monitor ? { onPredicted: (ecg, prediction) => monitor.observe(ecg, prediction) } : {}),
        payloads: workerPayloads,
        decodeSource: decodeStoredSource,
        writeQueue: workerQueues.write,
        // The writer puts the waveform into the ECG Observation: it reads the payload and deletes it once delivered.
        handOverPayloads: config.fhir.waveform,
        handoff,
        intakeHandoff,
        concurrency: config.workers.infer,
      });
    }
    if (options.stages.includes('ingest')) {
      workers.ingest = startIngestWorker({
        ...common,
        payloads: workerPayloads,
        inferQueue: workerQueues.infer,
        ...(rejected ? { rejected } : {}),
        concurrency: config.workers.ingest,
      });
    }
    // A job that fails into the dead-letter set keeps its payload for its whole stay there.
    if (workers.infer) keepPayloadsOfFailedJobs(workers.infer as Worker, workerPayloads, logger);
    if (workers.ingest) keepPayloadsOfFailedJobs(workers.ingest as Worker, workerPayloads, logger);
    if (workers.write) keepPayloadsOfFailedJobs(workers.write as Worker, workerPayloads, logger);
    for (const [stage, worker] of Object.entries(workers)) {
      worker.on('error', (err: Error) => logger.warn({ stage, error: err.message }, 'worker error'));
    }

    // Every feed (C-STORE, HTTP, STOW-RS, folder) goes through the depth check: 0xA700 / 503 while behind.
    const queuedIntake = withBackpressure(
      createQueuedIntake({ inferQueue: queues.infer, payloads: producerPayloads, retry, handoff: intakeHandoff }),
      {
        depth: () => inferBacklog(queues.infer),
        maxDepth: config.backpressure.maxInferDepth,
        retryAfterMs: config.backpressure.retryAfterS * 1000,
      },
    );
    const intake = auditSink
      ? auditedIntake(queuedIntake, trail, config.folder.dir ? { folderDir: config.folder.dir } : {})
      : queuedIntake;
    const feedCommon = {
      intake,
      rejected: rejected as RejectedStore,
      logger: feedLogger(logger),
      onOutcome: metrics.onFeedOutcome,
      ...(auditSink ? { onPeerRefused: auditPeerRefusals(trail, config.folder.dir) } : {}),
    };
    if (options.http ?? true) {
      const httpFeeds = options.feeds && config.http.enabled;
      // The ids the audit trail names senders by (a hash prefix of each key), so operators can tell keys apart.
      if (httpFeeds && config.http.apiKeys.length > 0) {
        logger.info({ apiKeyIds: config.http.apiKeys.map(apiKeyId) }, 'http feed API keys (audit ids)');
      }
      http = await startOpsServer({
        host: config.http.host,
        port: config.http.port,
        logger,
        metrics,
        queues,
        checks,
        server: { ...config.http, retryAfterS: config.backpressure.retryAfterS },
        opsAuth: config.ops,
        ...(appRouteOptions(config) ? { app: appRouteOptions(config) } : {}),
        ...(config.cds.enabled
          ? {
              cds: cdsRoutesOptionsFromConfig(
                config,
                logger,
                () => http?.url ?? '',
                metrics.registry,
                new RedisReplayStore(producer, config.redis.prefix),
              ),
            }
          : {}),
        ...(config.ops.dashboard ? { dashboard: { audit: trail, payloads: producerPayloads } } : {}),
        ...(httpFeeds
          ? {
              feeds: {
                ...feedCommon,
                auth: {
                  apiKeys: config.http.apiKeys,
                  anonymous: config.http.anonymous,
                  ...(clientCertAuth(config.http.tls) ? { clientCert: clientCertAuth(config.http.tls) } : {}),
                },
                retryAfterS: config.backpressure.retryAfterS,
                ...(config.http.publicUrl ? { publicUrl: config.http.publicUrl } : {}),
              },
            }
          : {}),
      });
    }
    if (dimseSettings) {
      for (const warning of dimseSettings.warnings) {
        logger.warn({ feed: 'cstore', security: 'insecure' }, `INSECURE: ${warning}`);
      }
      dimse = await startDimseFeed({ ...feedCommon, ...dimseSettings.options });
      logger.info({ port: dimse.port, aeTitle: config.dimse.aeTitle, tls: dimse.tls }, 'DICOM C-STORE SCP listening');
    }
    if (options.feeds && config.folder.dir) {
      folder = await startFolderFeed({ ...feedCommon, dir: config.folder.dir, retry: config.retry });
      logger.info({ dir: folder.dir }, 'watching drop folder');
    }
    // Refused payloads and handled drop files hold patient data: deleted once past their retention.
    const keptFiles: RetentionTarget[] = [];
    if (rejected) keptFiles.push({ name: 'rejected', dir: rejected.dir, maxAgeS: config.retention.rejectedS });
    if (options.feeds && config.folder.dir) {
      keptFiles.push({
        name: 'folder-done',
        dir: join(config.folder.dir, 'done'),
        maxAgeS: config.retention.folderDoneS,
      });
      keptFiles.push({
        name: 'folder-rejected',
        dir: join(config.folder.dir, 'rejected'),
        maxAgeS: config.retention.rejectedS,
      });
    }
    if (keptFiles.length > 0) {
      const sweep = startRetentionSweep({
        targets: keptFiles,
        intervalMs: config.retention.sweepIntervalS * 1000,
        logger: feedLogger(logger),
      });
      closers.push(() => sweep.close());
    }
    logger.info({ stages: options.stages, feeds: options.feeds }, 'engine started');
  } catch (err) {
    await close();
    throw err;
  }

  return {
    config,
    queues,
    metrics,
    predictor,
    workers,
    http,
    dimse,
    folder,
    audit,
    close,
  };
}

/** Closes the engine on SIGTERM / SIGINT (a second signal exits at once). */
export function closeOnSignals(engine: Pick<QueuedEngine, 'close'>, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    engine.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
