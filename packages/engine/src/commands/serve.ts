/**
 * `ecgcad serve`: the whole engine in one process on Redis: C-STORE SCP + HTTP feeds (POST /ecg, STOW-RS) + the
 * folder feed (when configured) + the ingest, infer and write workers + the ops endpoints. Stops gracefully on
 * SIGTERM (feeds first, then workers, then connections). `--stages none` runs the feeds alone (a feed-only process).
 */
import type { StageName } from '@ecgcad/ecg';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig, redactedConfig } from '../config.js';
import { createLogger } from '../logger.js';

/** Flags every queued-mode command takes. */
export interface QueuedFlags {
  config?: string;
  redisUrl?: string;
  httpPort?: number;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error(`not a port: ${value}`);
  return n;
}

/** Adds --config and --redis-url. */
export function addQueuedOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'configuration file (JSON; default ECGCAD_CONFIG); environment variables win')
    .option('--redis-url <url>', 'Redis URL (default redis://127.0.0.1:6379, or ECGCAD_REDIS_URL)');
}

const ALL_STAGES: StageName[] = ['ingest', 'infer', 'write'];

/**
 * `--stages`: a comma list of ingest, infer, write, or `none` for a feed-only process (feeds + ops endpoints: it
 * receives, makes each ECG durable in Redis and acks; stage workers elsewhere do the rest).
 */
export function parseStages(value: string): StageName[] {
  if (value.trim() === 'none') return [];
  const stages = value.split(',').map((s) => s.trim());
  for (const s of stages) {
    if (!(ALL_STAGES as string[]).includes(s))
      throw new InvalidArgumentError('must be none or a list of ingest, infer, write');
  }
  return ALL_STAGES.filter((s) => stages.includes(s));
}

export function register(program: Command): void {
  addQueuedOptions(
    program
      .command('serve')
      .description('run every feed and stage in one process on Redis, with /healthz /readyz /metrics')
      .option(
        '--http-port <port>',
        'HTTP port for feeds and ops endpoints (default 8080, or ECGCAD_HTTP_PORT)',
        parsePort,
      )
      .option('--dimse-port <port>', 'DICOM C-STORE SCP port (default 11112, or ECGCAD_DIMSE_PORT)', parsePort)
      .option('--fhir-url <url>', 'FHIR R4 base URL of the EHR (default: Bundle files under ./out)')
      .option('--folder <dir>', 'watch this drop folder')
      .option(
        '--stages <list>',
        'stage workers to run: ingest,infer,write (default all) or none (a feed-only process)',
        parseStages,
      ),
  ).action(
    async (flags: QueuedFlags & { dimsePort?: number; fhirUrl?: string; folder?: string; stages?: StageName[] }) => {
      const config = loadConfig({
        ...(flags.config ? { file: flags.config } : {}),
        overrides: [
          { path: ['redis', 'url'], value: flags.redisUrl },
          { path: ['http', 'port'], value: flags.httpPort },
          { path: ['dimse', 'port'], value: flags.dimsePort },
          { path: ['fhir', 'url'], value: flags.fhirUrl },
          { path: ['folder', 'dir'], value: flags.folder },
        ],
      });
      const logger = createLogger(config.log.level);
      logger.info({ config: redactedConfig(config) }, 'configuration');
      // Queue code (BullMQ, ioredis) loads here, not at start, so `ecgcad run` and `ecgcad inspect` never load it.
      const { closeOnSignals, startQueuedEngine } = await import('../queued.js');
      const stages = flags.stages ?? ALL_STAGES;
      const engine = await startQueuedEngine({ config, stages, feeds: true, logger });
      closeOnSignals(engine, logger);
    },
  );
}
