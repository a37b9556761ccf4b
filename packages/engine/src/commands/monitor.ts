/**
 * `ecgcad monitor [--bins] [--json]`: the drift window against the model's reference profile, as a table: one row
 * per measure (vessel outputs, input statistics) with its PSI and a bar, the stratum shares per vessel against their
 * reference band, and with --bins each measure's bins (reference vs window). Bars use block characters on a UTF-8
 * terminal, `#` elsewhere, and are left out when the output is not a terminal (unless --bars).
 * Exit 1 when any PSI is above 0.25 or a stratum share is outside its band (for scripts and cron).
 */
import { PSI_MAJOR } from '@ecgcad/clinical';
import { loadModelFolder } from '@ecgcad/infer';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { formatDriftReport } from '../drift-report.js';
import { addQueuedOptions, type QueuedFlags } from './serve.js';

export function register(program: Command): void {
  addQueuedOptions(
    program
      .command('monitor')
      .description('model drift: PSI of each vessel output and input statistic, window vs reference profile')
      .option('--bins', 'show each measure bin by bin (reference vs window)')
      .option('--bars', 'draw bars even when the output is not a terminal')
      .option('--json', 'print JSON'),
  ).action(async (flags: QueuedFlags & { bins?: boolean; bars?: boolean; json?: boolean }) => {
    const config = loadConfig({
      ...(flags.config ? { file: flags.config } : {}),
      overrides: [{ path: ['redis', 'url'], value: flags.redisUrl }],
    });
    // Queue and Redis code loads only here, so the CLI's other commands (inspect, run) never load it.
    const { ModelMonitor } = await import('../monitoring.js');
    const { connectRedis, waitReady } = await import('../redis.js');
    const model = await loadModelFolder(config.model.dir);
    const redis = connectRedis(config.redis, 'producer', 'ecgcad-monitor');
    redis.on('error', () => {});
    try {
      await waitReady(redis, 5000);
      const monitor = await ModelMonitor.open({
        redis,
        prefix: config.redis.prefix,
        modelDir: config.model.dir,
        model: { id: model.card.id, version: model.card.version },
        settings: config.monitor,
      });
      const report = await monitor.report();
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ model: { id: model.card.id, version: model.card.version }, ...report })}\n`,
        );
      } else {
        const tty = process.stdout.isTTY === true;
        const utf8 = /utf-?8/i.test(
          `${process.env.LC_ALL ?? ''}${process.env.LC_CTYPE ?? ''}${process.env.LANG ?? ''}`,
        );
        const bars = flags.bars || tty ? (utf8 ? 'blocks' : 'ascii') : 'none';
        process.stdout.write(formatDriftReport(report, { model: model.card, bars, bins: flags.bins === true }));
      }
      const alarming =
        report.rows.some((r) => r.psi > PSI_MAJOR) ||
        report.bands.some((b) => b.window !== undefined && (b.window < b.lower || b.window > b.upper));
      if (alarming) process.exitCode = 1;
    } finally {
      redis.disconnect();
    }
  });
}
