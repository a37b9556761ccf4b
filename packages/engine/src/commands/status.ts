/**
 * `ecgcad status`: job counts per queue (waiting, active, delayed, failed = dead letters, completed), or one ECG's
 * whereabouts with `--ecg <id>`.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { addQueuedOptions, type QueuedFlags } from './serve.js';

export function register(program: Command): void {
  addQueuedOptions(
    program
      .command('status')
      .description('queue depths and failed (dead-letter) counts per queue, or where one ECG is')
      .option('--ecg <id>', 'show where this ECG is (queued, scoring, scored, written, failed with reason)')
      .option('--json', 'print JSON'),
  ).action(async (flags: QueuedFlags & { ecg?: string; json?: boolean }) => {
    const config = loadConfig({
      ...(flags.config ? { file: flags.config } : {}),
      overrides: [{ path: ['redis', 'url'], value: flags.redisUrl }],
    });
    // Loaded here, not at start, so `ecgcad run` and `ecgcad inspect` never load BullMQ or ioredis.
    const { closeQueues, connectRedis, openQueues, queueCounts, STATUS_COUNTS, waitReady } = await import(
      '../redis.js'
    );
    const { ecgStatus } = await import('../ecg-status.js');
    const redis = connectRedis(config.redis, 'producer', 'ecgcad-status');
    redis.on('error', () => {});
    const queues = openQueues(redis, config.redis.prefix);
    try {
      await waitReady(redis, 5000);
      if (flags.ecg) {
        const status = await ecgStatus(queues, flags.ecg);
        process.stdout.write(`${JSON.stringify(status, null, flags.json ? 0 : 2)}\n`);
        if (status.status === 'unknown' || status.status === 'failed') process.exitCode = 1;
        return;
      }
      const rows: Array<Record<string, number | string>> = await queueCounts(queues);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      const columns = ['queue', ...STATUS_COUNTS];
      process.stdout.write(`${columns.map((c) => c.padEnd(12)).join('')}\n`);
      for (const row of rows) process.stdout.write(`${columns.map((c) => String(row[c] ?? 0).padEnd(12)).join('')}\n`);
    } finally {
      await closeQueues(queues);
      redis.disconnect();
    }
  });
}
