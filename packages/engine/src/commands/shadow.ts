/**
 * `ecgcad shadow report [--file FILE] [--pair LIVE|SHADOW] [--json]`: how the shadow model (`model.shadow`) compares
 * with the live one over the shadow store: per vessel the live x shadow stratum matrix, agreement, Cohen's kappa,
 * mean |dp|, and how many written results would have changed stratum (up / down). Reads the embedded mode's JSONL
 * file with --file, else the Redis store of the pair: --pair, or the configured live and shadow folders' cards, or
 * the only pair Redis holds.
 */
import { ConfigError } from '@ecgcad/ecg';
import { compareShadow, loadModelFolder, modelTag, type ShadowRecord } from '@ecgcad/infer';
import type { Command } from 'commander';
import { type EngineConfig, loadConfig } from '../config.js';
import { formatShadowReport } from '../shadow-report.js';
import { JsonlShadowStore, pairName, RedisShadowStore } from '../shadow-store.js';
import { addQueuedOptions, type QueuedFlags } from './serve.js';

/** Flags of `ecgcad shadow report`. */
export interface ShadowReportFlags extends QueuedFlags {
  file?: string;
  pair?: string;
  json?: boolean;
}

/** The pair the configuration names (live model.dir, shadow model.shadow.dir), when both folders load. */
async function configuredPair(config: EngineConfig): Promise<string | undefined> {
  if (!config.model.shadow) return undefined;
  const live = await loadModelFolder(config.model.dir);
  const shadow = await loadModelFolder(config.model.shadow.dir);
  return pairName(modelTag(live.card), modelTag(shadow.card));
}

/** Reads the records the flags point at; `source` says where from (printed in the report). */
async function readRecords(
  flags: ShadowReportFlags,
  config: EngineConfig,
): Promise<{ records: ShadowRecord[]; source: string }> {
  if (flags.file) return { records: await new JsonlShadowStore(flags.file).records(), source: flags.file };
  // Queue and Redis code loads only here, so the CLI's other commands never load it.
  const { connectRedis, waitReady } = await import('../redis.js');
  const redis = connectRedis(config.redis, 'producer', 'ecgcad-shadow');
  redis.on('error', () => {});
  try {
    await waitReady(redis, 5000);
    let pair = flags.pair ?? (await configuredPair(config));
    if (!pair) {
      const pairs = await RedisShadowStore.pairs(redis, config.redis.prefix);
      if (pairs.length !== 1) {
        throw new ConfigError([
          pairs.length === 0
            ? 'model.shadow: no shadow records in Redis (is model.shadow set on the infer workers?)'
            : `--pair: several model pairs have shadow records, choose one: ${pairs.join(', ')}`,
        ]);
      }
      pair = pairs[0] as string;
    }
    const store = new RedisShadowStore(redis, {
      prefix: config.redis.prefix,
      pair,
      retentionDays: config.model.shadow?.retentionDays ?? 90,
      maxRecords: config.model.shadow?.maxRecords ?? 1_000_000,
    });
    return { records: await store.records(), source: `Redis, pair ${pair}` };
  } finally {
    redis.disconnect();
  }
}

/** Prints the report (text, or JSON with --json). */
export async function shadowReport(
  flags: ShadowReportFlags,
  out: { write(text: string): unknown } = process.stdout,
): Promise<void> {
  const config = loadConfig({
    ...(flags.config ? { file: flags.config } : {}),
    overrides: [{ path: ['redis', 'url'], value: flags.redisUrl }],
  });
  const { records, source } = await readRecords(flags, config);
  const comparison = compareShadow(records);
  // JSON: a value the report cannot give (kappa of one-cell matrices, an empty vessel) is null, not left out.
  const json = (): string =>
    JSON.stringify({ source, ...comparison }, (_key, value) => (value === undefined ? null : value));
  out.write(flags.json ? `${json()}\n` : formatShadowReport(comparison, source));
}

export function register(program: Command): void {
  const shadow = program.command('shadow').description('shadow mode: compare the shadow model with the live one');
  addQueuedOptions(
    shadow
      .command('report')
      .description(
        'per vessel: live x shadow stratum matrix, agreement, kappa, mean |dp|, written results that would change',
      )
      .option('--file <file>', 'read the embedded mode JSONL file (model.shadow.file) instead of Redis')
      .option(
        '--pair <live|shadow>',
        'the model pair in Redis, `<id>@<version>|<id>@<version>` (default: the configured folders)',
      )
      .option('--json', 'print JSON'),
  ).action(async (flags: ShadowReportFlags) => {
    await shadowReport(flags);
  });
}
