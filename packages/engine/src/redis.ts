/**
 * Redis connections and queues for queued mode. Workers use connections that retry forever
 * (`maxRetriesPerRequest: null`, as BullMQ requires); producers on a sender's path use bounded retries and no
 * offline queue, so a request fails fast (TransientError -> HTTP 503 / C-STORE 0xA700) when Redis is away.
 * Security: a password or ACL user (config or URL) and TLS (`rediss://`, CA and client certificate files); the engine
 * warns when a Redis outside this machine lets it in without authentication.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import {
  ConfigError,
  type InferJobData,
  type IngestJobData,
  QUEUE_NAMES,
  TransientError,
  type WriteJobData,
} from '@ecgcad/ecg';
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { EngineConfig } from './config.js';
import { isLoopbackHost } from './http-server.js';
import type { Logger } from './logger.js';

/** What a connection is for. */
export type ConnectionRole = 'worker' | 'producer';

/** Where Redis is and how to log in: a URL, or the config's `redis` section (URL, user, password, TLS files). */
export type RedisTarget = string | Pick<EngineConfig['redis'], 'url' | 'username' | 'password' | 'tls'>;

function readTlsFile(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new ConfigError([`redis.tls.${key}: cannot read ${file}`]);
  }
}

/**
 * ioredis options for a target, beyond the URL: user and password (which win over the URL's), and TLS. TLS is on
 * for a rediss:// URL; `tls` files without rediss:// are a ConfigError (a CA file must never be silently unused).
 */
export function redisSecurityOptions(target: RedisTarget): RedisOptions {
  if (typeof target === 'string') return {};
  const options: RedisOptions = {};
  if (target.username) options.username = target.username;
  if (target.password) options.password = target.password;
  const secure = /^rediss:\/\//i.test(target.url);
  if (target.tls && !secure) throw new ConfigError(['redis.tls: set only with a rediss:// URL']);
  if (secure) {
    const tls: ConnectionOptions = {};
    if (target.tls?.caFile) tls.ca = readTlsFile(target.tls.caFile, 'caFile');
    if (target.tls?.certFile) tls.cert = readTlsFile(target.tls.certFile, 'certFile');
    if (target.tls?.keyFile) tls.key = readTlsFile(target.tls.keyFile, 'keyFile');
    if (target.tls?.servername) tls.servername = target.tls.servername;
    options.tls = tls;
  }
  return options;
}

/** The URL without user and password (ioredis lets a URL's credentials win over its options). */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The URL to hand ioredis: the config's user or password, when set, replace the URL's. */
function connectionUrl(target: RedisTarget): string {
  if (typeof target === 'string') return target;
  return target.username || target.password ? withoutCredentials(target.url) : target.url;
}

/** Opens an ioredis connection for `role`. */
export function connectRedis(target: RedisTarget, role: ConnectionRole, name = 'ecgcad'): Redis {
  const url = connectionUrl(target);
  return new Redis(url, {
    ...redisSecurityOptions(target),
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

/**
 * Warns loudly when Redis, outside this machine, answers a client that presents no credentials: anyone on the
 * network could then read ECG payloads and replay or drop jobs. Probes with a separate, credential-less connection
 * (same TLS) and one PING; `NOAUTH`/`WRONGPASS` is the good answer. Returns whether Redis needed authentication
 * (undefined: not checked, the host is loopback).
 */
export async function checkRedisAuth(target: RedisTarget, logger: Logger): Promise<boolean | undefined> {
  const url = typeof target === 'string' ? target : target.url;
  let host: string;
  try {
    host = new URL(url).hostname || '127.0.0.1';
  } catch {
    return undefined;
  }
  if (isLoopbackHost(host)) return undefined;
  // No user, no password (the URL's dropped too): the question is what an anonymous client gets.
  const probe = new Redis(withoutCredentials(url), {
    ...redisSecurityOptions(typeof target === 'string' ? target : { url, ...(target.tls ? { tls: target.tls } : {}) }),
    connectionName: 'ecgcad-auth-probe',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  // The refusal may arrive as an 'error' event (ioredis's HELLO / ready check on connect), not as a rejection.
  const events: string[] = [];
  probe.on('error', (err: Error) => events.push(err.message));
  try {
    await probe.connect();
    await probe.ping();
    logger.warn(
      { host, security: 'insecure' },
      'INSECURE: Redis at a non-loopback address accepts clients without authentication: set requirepass or ACL users',
    );
    return false;
  } catch (err) {
    const message = [err instanceof Error ? err.message : String(err), ...events].join('; ');
    if (/NOAUTH|WRONGPASS|Authentication required/i.test(message)) return true;
    logger.warn({ host, error: message }, 'could not check whether Redis requires authentication');
    return undefined;
  } finally {
    probe.disconnect();
  }
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

/** Infer jobs not yet started: waiting, delayed (retries backing off), prioritized. Backpressure's depth. */
export async function inferBacklog(queue: Queue<InferJobData>): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'delayed', 'prioritized');
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** The job states `ecgcad status` counts, in its column order. */
export const STATUS_COUNTS = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

/** Job counts per queue, as `ecgcad status` prints them (failed = the dead-letter set). */
export async function queueCounts(
  queues: EngineQueues,
): Promise<Array<{ queue: string } & Record<(typeof STATUS_COUNTS)[number], number>>> {
  const rows = [];
  for (const queue of Object.values(queues) as Queue[]) {
    const counts = await queue.getJobCounts(...STATUS_COUNTS);
    rows.push({
      queue: queue.name,
      ...(Object.fromEntries(STATUS_COUNTS.map((state) => [state, counts[state] ?? 0])) as Record<
        (typeof STATUS_COUNTS)[number],
        number
      >),
    });
  }
  return rows;
}

/** Closes the queues (the connection stays open: its owner closes it). */
export async function closeQueues(queues: EngineQueues): Promise<void> {
  await Promise.all([queues.ingest.close(), queues.infer.close(), queues.write.close()]);
}
