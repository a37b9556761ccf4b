/**
 * Queued mode: any mix of feeds and stage workers in one process, on Redis. `ecgcad serve` runs everything;
 * `ecgcad worker <stage>` runs one stage (scale out per stage, e.g. KEDA on queue depth).
 *
 * Start: connections (workers retry for ever; producers fail fast), Redis eviction-policy check, queues, stage
 * workers, then the feeds last, so nothing is accepted before it can be processed.
 * Close (SIGTERM): feeds first (stop taking work; in-flight hand-overs finish), then workers (`worker.close()` waits
 * for active jobs), then the model session, queues and connections.
 */
import type { StageName } from '@ecgcad/ecg';
import { startWriteWorker } from '@ecgcad/fhir-writer/worker';
import type { Predictor } from '@ecgcad/infer';
import { startInferWorker } from '@ecgcad/infer/worker';
import {
  type DimseFeed,
  type FeedLogger,
  type FolderFeed,
  RejectedStore,
  startDimseFeed,
  startFolderFeed,
} from '@ecgcad/ingest';
import { createQueuedIntake } from '@ecgcad/ingest/queued-intake';
import { startIngestWorker } from '@ecgcad/ingest/worker';
import { RedisPayloadStore, type Worker } from '@ecgcad/queue';
import type { Redis } from 'ioredis';
import type { EngineConfig } from './config.js';
import { dimseFeedSettings } from './dimse-options.js';
import type { Logger } from './logger.js';
import { EngineMetrics } from './metrics.js';
import { ModelMonitor } from './monitoring.js';
import { ehrCheck, type OpsServer, type ReadinessCheck, redisCheck, startOpsServer } from './ops.js';
import { checkEvictionPolicy, closeQueues, connectRedis, type EngineQueues, openQueues, waitReady } from './redis.js';
import { predictorFromConfig, writerFromConfig } from './stages.js';

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

  const producer = connectRedis(config.redis.url, 'producer');
  const workerConnection = connectRedis(config.redis.url, 'worker');
  connections.push(producer, workerConnection);
  for (const connection of connections) {
    // ioredis reconnects by itself; log the outage once per event, without the URL (it may hold a password).
    connection.on('error', (err: Error) => logger.warn({ error: err.message }, 'redis connection error'));
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
    for (const connection of connections) await step('redis', () => connection.quit());
    logger.info({}, 'stopped');
  };

  try {
    await waitReady(producer);
    await waitReady(workerConnection);
    await checkEvictionPolicy(producer, config.redis.evictionPolicyCheck, logger);
    const workerPayloads = new RedisPayloadStore(workerConnection, {
      prefix: `${config.redis.prefix}:payload:`,
      ttlS: config.payloads.ttlS,
    });
    const producerPayloads = new RedisPayloadStore(producer, {
      prefix: `${config.redis.prefix}:payload:`,
      ttlS: config.payloads.ttlS,
    });
    const retry = config.retry;
    const common = {
      connection: workerConnection,
      prefix: config.redis.prefix,
      stalledIntervalMs: config.workers.stalledIntervalMs,
      maxStalledCount: config.workers.maxStalledCount,
      lockDurationMs: config.workers.lockDurationMs,
      onEvent: metrics.onStageEvent,
      retry,
    };
    const checks: Record<string, ReadinessCheck> = { redis: redisCheck(producer) };
    // Only processes that take bytes (feeds, ingest worker) keep refused ones.
    const needsRejected = options.feeds || options.stages.includes('ingest');
    const rejected = needsRejected ? await RejectedStore.open(config.rejectedDir) : undefined;

    if (options.stages.includes('write')) {
      const writer = writerFromConfig(config);
      workers.write = startWriteWorker({
        ...common,
        writer,
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
      workers.infer = startInferWorker({
        ...common,
        predictor,
        ...(monitor ? { onPredicted: (ecg, prediction) => monitor.observe(ecg, prediction) } : {}),
        payloads: workerPayloads,
        writeQueue: workerQueues.write,
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
    for (const [stage, worker] of Object.entries(workers)) {
      worker.on('error', (err: Error) => logger.warn({ stage, error: err.message }, 'worker error'));
    }

    const intake = createQueuedIntake({ inferQueue: queues.infer, payloads: producerPayloads, retry });
    const feedCommon = {
      intake,
      rejected: rejected as RejectedStore,
      logger: feedLogger(logger),
      onOutcome: metrics.onFeedOutcome,
    };
    if (options.http ?? true) {
      const httpFeeds = options.feeds && config.http.enabled;
      http = await startOpsServer({
        host: config.http.host,
        port: config.http.port,
        logger,
        metrics,
        queues,
        checks,
        ...(httpFeeds
          ? {
              feeds: {
                ...feedCommon,
                auth: { apiKeys: config.http.apiKeys, anonymous: config.http.anonymous },
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
