/**
 * Redis connections and queues for queued mode. Workers use connections that retry forever
 * (`maxRetriesPerRequest: null`, as BullMQ requires); producers on a sender's path use bounded retries and no
 * offline queue, so a request fails fast (TransientError -> HTTP 503 / C-STORE 0xA700) when Redis is away.
 */
import {
  ConfigError,
  type InferJobData,
  type IngestJobData,
  QUEUE_NAMES,
  TransientError,
  type WriteJobData,
} from '@ecgcad/ecg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/** What a connection is for. */
export type ConnectionRole = 'worker' | 'producer';

/** Opens an ioredis connection for `role`. */
export function connectRedis(url: string, role: ConnectionRole, name = 'ecgcad'): Redis {
  return new Redis(url, {
    connectionName: `${name}-${role}`,
    ...(role === 'worker'
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 }),
    // Reconnect for ever with a capped delay: Redis restarts and failovers are normal events.
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  });
}

/** Waits until the connection is ready (or fails after `timeoutMs`). */
export async function waitReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      // Not a configuration error: the URL may be right and Redis merely down (exit 1, not 2).
      reject(new TransientError(`Redis not reachable within ${timeoutMs} ms (check redis.url / ECGCAD_REDIS_URL)`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/**
 * Checks Redis's maxmemory-policy: anything but `noeviction` lets Redis drop queue keys under memory pressure.
 * `refuse` throws a ConfigError; `warn` logs loudly and goes on. Reads INFO (CONFIG GET is often disabled on
 * managed Redis).
 */
export async function checkEvictionPolicy(redis: Redis, mode: 'refuse' | 'warn', logger: Logger): Promise<string> {
  const info = await redis.info('memory');
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1] ?? 'unknown';
  if (policy !== 'noeviction') {
    const message = `Redis maxmemory-policy is "${policy}"; queues need "noeviction" (jobs can be evicted and lost)`;
    if (mode === 'refuse')
      throw new ConfigError([`redis: ${message}. Fix Redis or set redis.evictionPolicyCheck=warn`]);
    logger.warn({ policy }, `!!! ${message} !!!`);
  }
  return policy;
}

/** The three queues (producers). */
export interface EngineQueues {
  ingest: Queue<IngestJobData>;
  infer: Queue<InferJobData>;
  write: Queue<WriteJobData>;
}

/**
 * Opens producers for the three queues on one connection. Connection errors are reported to `onError` (default:
 * ignored; the connection's own error listener logs them), never printed by BullMQ itself.
 */
export function openQueues(connection: Redis, prefix: string, onError: (err: Error) => void = () => {}): EngineQueues {
  const queues: EngineQueues = {
    ingest: new Queue<IngestJobData>(QUEUE_NAMES.ingest, { connection, prefix }),
    infer: new Queue<InferJobData>(QUEUE_NAMES.infer, { connection, prefix }),
    write: new Queue<WriteJobData>(QUEUE_NAMES.write, { connection, prefix }),
  };
  for (const queue of Object.values(queues)) queue.on('error', onError);
  return queues;
}

/** Closes the queues (the connection stays open: its owner closes it). */
export async function closeQueues(queues: EngineQueues): Promise<void> {
  await Promise.all([queues.ingest.close(), queues.infer.close(), queues.write.close()]);
}
