/**
 * Retention of the files the feeds keep: refused payloads (the rejected store, and the folder feed's rejected/)
 * and the folder feed's done/ folder hold patient data, so they are deleted once older than a configured period.
 * A periodic sweep; each run deletes plain files whose modification time is older than the cutoff (the folder
 * feed stamps a file's time when it moves it, and the rejected store writes each entry fresh).
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@ecgcad/ecg';
import type { FeedLogger } from './feeds/intake.js';
import { silentLogger } from './feeds/intake.js';

/** One folder and how long its files are kept. */
export interface RetentionTarget {
  /** What the folder is, for the log (`rejected`, `folder-done`). */
  name: string;
  dir: string;
  /** Files older than this are deleted, seconds. */
  maxAgeS: number;
}

/**
 * Deletes the plain files directly in `dir` (dotfiles included: interrupted temp files) modified before `cutoff`.
 * A missing folder is empty. Returns the number deleted.
 */
export async function sweepFolder(dir: string, cutoff: Date): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return 0;
    throw err;
  }
  let deleted = 0;
  for (const name of names) {
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (!info.isFile() || info.mtimeMs >= cutoff.getTime()) continue;
      await rm(path, { force: true });
      deleted++;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
    }
  }
  return deleted;
}

/** Options of {@link startRetentionSweep}. */
export interface RetentionSweepOptions {
  targets: RetentionTarget[];
  /** Time between sweeps, ms. The first sweep runs at start. */
  intervalMs: number;
  logger?: FeedLogger;
  /** The clock (tests). */
  now?: () => Date;
}

/** A running sweep. */
export interface RetentionSweep {
  /** Runs one sweep now; resolves with the files deleted per target name. */
  sweep(): Promise<Record<string, number>>;
  /** Stops the timer and waits for a sweep in progress. */
  close(): Promise<void>;
}

/** Starts the periodic sweep. A failing sweep is logged (folder name and error code only) and tried next time. */
export function startRetentionSweep(options: RetentionSweepOptions): RetentionSweep {
  const issues: string[] = [];
  if (!(options.intervalMs > 0)) issues.push('retention sweep interval: more than 0');
  for (const target of options.targets) {
    if (!(target.maxAgeS > 0)) issues.push(`retention of ${target.name}: more than 0 seconds`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  let running: Promise<Record<string, number>> | undefined;

  const sweepOnce = async (): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {};
    for (const target of options.targets) {
      const cutoff = new Date(now().getTime() - target.maxAgeS * 1000);
      try {
        counts[target.name] = await sweepFolder(target.dir, cutoff);
        if (counts[target.name]) logger.info({ folder: target.name, deleted: counts[target.name] }, 'retention sweep');
      } catch (err) {
        counts[target.name] = 0;
        logger.warn(
          { folder: target.name, error: (err as { code?: string }).code ?? 'unknown' },
          'retention sweep failed',
        );
      }
    }
    return counts;
  };
  const sweep = (): Promise<Record<string, number>> => {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void sweep(), options.intervalMs);
  timer.unref();
  void sweep();
  return {
    sweep,
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
