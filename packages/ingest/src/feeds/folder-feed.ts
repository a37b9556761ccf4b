/**
 * Watched-folder feed: ECG files dropped into a directory (by a cart's export, an ECG management system, a share).
 * A file is taken once its size has been stable for `stableMs`, handed to the intake, then moved to `done/` or, when
 * refused, to `rejected/` with `<name>.reason.json` beside it. On a transient failure the file stays and is retried.
 * Dotfiles and `*.part` / `*.tmp` (files still being written under a temporary name) are ignored.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { ConfigError, type RetryPolicy, retryDelayMs, retryPolicy } from '@ecgcad/ecg';
import { type FSWatcher, watch } from 'chokidar';
import type { FeedCommonOptions } from './intake.js';
import { handOver, silentLogger } from './intake.js';

/** Options of {@link startFolderFeed}. */
export interface FolderFeedOptions extends FeedCommonOptions {
  /** The watched directory (created if missing). `done/` and `rejected/` are made inside it. */
  dir: string;
  /** A file is complete once its size has not changed for this long. Default 2000 ms. */
  stableMs?: number;
  /** How often sizes are polled while waiting for stability. Default 250 ms. */
  pollMs?: number;
  /**
   * Waits between retries of a file after a transient failure (Retry-After honoured). Default DEFAULT_RETRY_POLICY.
   * A dropped file is never given up on: after `attempts` it is logged once and retried at the longest delay.
   */
  retry?: Partial<RetryPolicy>;
  /** Larger files are refused unread (moved to `rejected/`). Default 64 MiB. */
  maxFileBytes?: number;
  /** Poll the directory instead of using inotify (network shares). Default false. */
  usePolling?: boolean;
}

/** A running folder feed. */
export interface FolderFeed {
  readonly dir: string;
  /** Stops watching, cancels retries, and waits for files being handled. */
  close(): Promise<void>;
}

/** What `<name>.reason.json` holds. */
export interface FolderRejection {
  name: string;
  feed: 'folder';
  receivedAt: string;
  code: string;
  reason: string;
  rejectedId?: string;
}

const IGNORED_SUFFIXES = ['.part', '.tmp', '.partial', '.crdownload'];

/** Starts watching; resolves once the files already present have been found (they are processed too). */
export async function startFolderFeed(options: FolderFeedOptions): Promise<FolderFeed> {
  const dir = resolve(options.dir);
  const stableMs = options.stableMs ?? 2000;
  const pollMs = options.pollMs ?? 250;
  const retry = retryPolicy(options.retry);
  const maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
  const issues: string[] = [];
  if (!(stableMs >= 0)) issues.push('folder feed stableMs: 0 or more');
  if (!(pollMs > 0)) issues.push('folder feed pollMs: more than 0');
  if (!(retry.baseDelayMs > 0)) issues.push('folder feed retry.baseDelayMs: more than 0');
  if (issues.length > 0) throw new ConfigError(issues);
  const logger = options.logger ?? silentLogger;
  const doneDir = join(dir, 'done');
  const rejectedDir = join(dir, 'rejected');
  await mkdir(doneDir, { recursive: true });
  await mkdir(rejectedDir, { recursive: true });

  /** Paths queued or being handled: a path is never handled twice at once. */
  const active = new Set<string>();
  /** Files we could not move away after handling: never handed over again while this process runs. */
  const stuck = new Set<string>();
  const retryTimers = new Map<string, NodeJS.Timeout>();
  const attempts = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const ignored = (path: string): boolean => {
    const full = resolve(path);
    if (full === dir) return false;
    if (
      full === doneDir ||
      full === rejectedDir ||
      full.startsWith(`${doneDir}/`) ||
      full.startsWith(`${rejectedDir}/`)
    ) {
      return true;
    }
    const name = basename(full);
    return name.startsWith('.') || IGNORED_SUFFIXES.some((s) => name.toLowerCase().endsWith(s));
  };

  const schedule = (path: string): void => {
    if (closed || active.has(path) || stuck.has(path)) return;
    active.add(path);
    const task = handle(path)
      .catch((err: unknown) => {
        logger.error({ feed: 'folder', errorClass: err instanceof Error ? err.name : typeof err }, 'folder feed error');
      })
      .finally(() => {
        active.delete(path);
        inFlight.delete(task);
      });
    inFlight.add(task);
  };

  const retryLater = (path: string, failure?: unknown): void => {
    if (closed) return;
    const n = (attempts.get(path) ?? 0) + 1;
    attempts.set(path, n);
    // The file on disk is the durable copy and has no dead-letter queue: past the policy's attempts it stays and is
    // retried at the longest delay, with one error line for the operator.
    if (n === retry.attempts) {
      logger.error({ feed: 'folder', attempts: n }, 'a dropped file still cannot be handed over; retrying');
    }
    const wait = retryDelayMs(retry, Math.min(n, retry.attempts), failure);
    clearTimeout(retryTimers.get(path));
    retryTimers.set(
      path,
      setTimeout(() => {
        retryTimers.delete(path);
        schedule(path);
      }, wait),
    );
  };

  const handle = async (path: string): Promise<void> => {
    const name = basename(path);
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) return;
      size = info.size;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') {
        logger.warn({ feed: 'folder', error: codeOf(err) }, 'cannot stat a dropped file; will retry');
        retryLater(path);
      }
      return;
    }
    const receivedAt = new Date().toISOString();
    if (size > maxFileBytes) {
      await moveRejected(path, name, {
        name,
        feed: 'folder',
        receivedAt,
        code: 'LIMIT_EXCEEDED',
        reason: `file over ${maxFileBytes} bytes`,
      });
      try {
        options.onOutcome?.('folder', 'refused', 0);
      } catch {
        // A broken metrics hook must not stop the feed.
      }
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return; // vanished between the event and the read: nothing to do
      logger.warn({ feed: 'folder', error: codeOf(err) }, 'cannot read a dropped file; will retry');
      retryLater(path);
      return;
    }
    const result = await handOver(bytes, { feed: 'folder', receivedAt, name }, options);
    if (result.outcome === 'retry') {
      retryLater(path, result);
      return;
    }
    attempts.delete(path);
    if (result.outcome === 'accepted') {
      await moveAway(path, doneDir, name);
    } else {
      await moveRejected(path, name, {
        name,
        feed: 'folder',
        receivedAt,
        code: result.code,
        reason: result.reason,
        ...(result.rejectedId ? { rejectedId: result.rejectedId } : {}),
      });
    }
  };

  /** Moves a handled file out of the watched directory; on failure remembers it so it is not handed over again. */
  const moveAway = async (path: string, targetDir: string, name: string): Promise<string | undefined> => {
    try {
      const target = await freeName(targetDir, name);
      await rename(path, target);
      return target;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') {
        stuck.add(path);
        logger.error({ feed: 'folder', error: codeOf(err) }, 'cannot move a handled file out of the watched folder');
      }
      return undefined;
    }
  };

  const moveRejected = async (path: string, name: string, rejection: FolderRejection): Promise<void> => {
    const target = await moveAway(path, rejectedDir, name);
    if (!target) return;
    const reasonPath = `${target}.reason.json`;
    try {
      const tmp = join(rejectedDir, `.${basename(reasonPath)}.tmp`);
      await writeFile(tmp, `${JSON.stringify(rejection, null, 2)}\n`);
      await rename(tmp, reasonPath);
    } catch (err) {
      logger.error({ feed: 'folder', error: codeOf(err) }, 'cannot write a reason file');
    }
  };

  const watcher: FSWatcher = watch(dir, {
    depth: 0,
    ignoreInitial: false,
    ignored,
    usePolling: options.usePolling ?? false,
    interval: pollMs,
    awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: pollMs },
  });
  watcher.on('add', (path) => {
    if (!ignored(path)) schedule(resolve(path));
  });
  // A file dropped again under the name of one we just moved away can arrive as 'change' when the watcher missed the
  // unlink; handling it is safe: a path being handled is skipped, and a vanished one is a no-op.
  watcher.on('change', (path) => {
    if (!ignored(path)) schedule(resolve(path));
  });
  watcher.on('error', (err) => {
    logger.error({ feed: 'folder', error: err instanceof Error ? err.message : String(err) }, 'folder watcher error');
  });
  await new Promise<void>((ready) => watcher.once('ready', () => ready()));
  logger.info({ feed: 'folder', stableMs }, 'folder feed watching');

  return {
    dir,
    async close() {
      closed = true;
      for (const timer of retryTimers.values()) clearTimeout(timer);
      retryTimers.clear();
      await watcher.close();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** `name`, or `name-<n>.ext` when a file of that name is already there (a re-sent file must not overwrite). */
async function freeName(targetDir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 0; n < 10_000; n++) {
    const candidate = join(targetDir, n === 0 ? name : `${stem}-${n}${ext}`);
    try {
      await access(candidate, constants.F_OK);
    } catch {
      return candidate;
    }
  }
  return join(targetDir, `${stem}-${Date.now()}${ext}`);
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown';
}
