/**
 * `ecgcad dlq list|replay [--queue q] [--id id | --all]`: the dead-letter set (each queue's failed jobs with their
 * reasons) and replaying them once the cause is fixed.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config.js';
import type { QueueKey } from '../dlq.js';
import type { EngineQueues } from '../redis.js';
import { addQueuedOptions, type QueuedFlags } from './serve.js';

const QUEUE_KEYS: Record<string, QueueKey> = {
  ingest: 'ingest',
  'ecg.ingest': 'ingest',
  infer: 'infer',
  'ecg.infer': 'infer',
  write: 'write',
  'ecg.write': 'write',
};

function parseQueue(value: string): QueueKey {
  const key = QUEUE_KEYS[value];
  if (!key) throw new InvalidArgumentError('must be ingest, infer or write (or ecg.ingest, ecg.infer, ecg.write)');
  return key;
}

async function withQueues<T>(flags: QueuedFlags, fn: (queues: EngineQueues) => Promise<T>): Promise<T> {
  const config = loadConfig({
    ...(flags.config ? { file: flags.config } : {}),
    overrides: [{ path: ['redis', 'url'], value: flags.redisUrl }],
  });
  // Loaded here, not at start, so `ecgcad run` and `ecgcad inspect` never load BullMQ or ioredis.
  const { closeQueues, connectRedis, openQueues, waitReady } = await import('../redis.js');
  const redis = connectRedis(config.redis.url, 'producer', 'ecgcad-dlq');
  redis.on('error', () => {});
  const queues = openQueues(redis, config.redis.prefix);
  try {
    await waitReady(redis, 5000);
    return await fn(queues);
  } finally {
    await closeQueues(queues);
    redis.disconnect();
  }
}

export function register(program: Command): void {
  const dlq = program.command('dlq').description('list and replay dead-lettered (failed) jobs');
  addQueuedOptions(
    dlq
      .command('list')
      .description('failed jobs with their reasons, oldest first')
      .option('-q, --queue <queue>', 'only this queue (ingest, infer, write)', parseQueue)
      .option('--json', 'print JSON lines'),
  ).action(async (flags: QueuedFlags & { queue?: QueueKey; json?: boolean }) => {
    const { listDeadLetters } = await import('../dlq.js');
    const letters = await withQueues(flags, (queues) =>
      listDeadLetters(queues, flags.queue ? [flags.queue] : ['ingest', 'infer', 'write']),
    );
    for (const letter of letters) {
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(letter)}\n`
          : `${letter.failedAt ?? '-'}  ${letter.queue}  ${letter.jobId}  attempts=${letter.attempts}  ${letter.reason}\n`,
      );
    }
    if (!flags.json) process.stdout.write(`${letters.length} dead-lettered job(s)\n`);
  });
  addQueuedOptions(
    dlq
      .command('replay')
      .description('move failed jobs back to waiting (attempts reset)')
      .option('-q, --queue <queue>', 'only this queue (ingest, infer, write)', parseQueue)
      .option('--id <jobId>', 'replay this job')
      .option('--all', 'replay every failed job of the queue(s)'),
  ).action(async (flags: QueuedFlags & { queue?: QueueKey; id?: string; all?: boolean }, command: Command) => {
    if (!flags.id === !flags.all) command.error('error: give exactly one of --id <jobId> or --all');
    const { replayDeadLetters } = await import('../dlq.js');
    const replayed = await withQueues(flags, (queues) =>
      replayDeadLetters(
        queues,
        flags.queue ? [flags.queue] : ['ingest', 'infer', 'write'],
        flags.id ? { id: flags.id } : { all: true },
      ),
    );
    process.stdout.write(`replayed ${replayed.length} job(s)\n`);
    if (flags.id && replayed.length === 0) process.exitCode = 1;
  });
}
