/**
 * `ecgcad worker ingest|infer|write`: one stage's worker (plus /healthz /readyz /metrics), for scaling a stage out
 * on its own (one process or pod per stage, scaled on queue depth). Stops gracefully on SIGTERM.
 */
import type { StageName } from '@ecgcad/ecg';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig, redactedConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { addQueuedOptions, parsePort, type QueuedFlags } from './serve.js';

const STAGES: StageName[] = ['ingest', 'infer', 'write'];

export function register(program: Command): void {
  addQueuedOptions(
    program
      .command('worker')
      .description('run one stage worker on Redis (ingest, infer or write)')
      .argument('<stage>', 'ingest | infer | write', (value: string) => {
        if (!(STAGES as string[]).includes(value)) throw new InvalidArgumentError('must be ingest, infer or write');
        return value as StageName;
      })
      .option('--http-port <port>', 'port of /healthz /readyz /metrics (default 8080; 0 picks a free one)', parsePort)
      .option('--no-http', 'no ops HTTP server')
      .option('--fhir-url <url>', 'FHIR R4 base URL (write stage)')
      .option('--model <dir>', 'model folder (infer stage)')
      .option('--concurrency <n>', 'jobs in flight in this worker', (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
        return n;
      }),
  ).action(
    async (
      stage: StageName,
      flags: QueuedFlags & { http: boolean; fhirUrl?: string; model?: string; concurrency?: number },
    ) => {
      const config = loadConfig({
        ...(flags.config ? { file: flags.config } : {}),
        overrides: [
          { path: ['redis', 'url'], value: flags.redisUrl },
          { path: ['http', 'port'], value: flags.httpPort },
          { path: ['fhir', 'url'], value: flags.fhirUrl },
          { path: ['model', 'dir'], value: flags.model },
          { path: ['workers', stage], value: flags.concurrency },
        ],
      });
      const logger = createLogger(config.log.level).child({ stage });
      logger.info({ config: redactedConfig(config) }, 'configuration');
      // Loaded here, not at start: see serve.ts.
      const { closeOnSignals, startQueuedEngine } = await import('../queued.js');
      const engine = await startQueuedEngine({ config, stages: [stage], feeds: false, http: flags.http, logger });
      closeOnSignals(engine, logger);
    },
  );
}
