/**
 * Structured JSON logs (pino) on stderr, so stdout stays for command output (tables, JSON). Fields never carry
 * patient data: ECG ids (SOP Instance UIDs or hashes), codes and counts only. Known secret-bearing paths are redacted
 * as a second line of defence.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** A pino logger writing JSON lines to stderr. */
export function createLogger(level = 'info', name = 'ecgcad'): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      redact: {
        paths: [
          'apiKey',
          'token',
          'bearerToken',
          'password',
          '*.apiKeys',
          '*.bearerToken',
          '*.password',
          '*.token',
          'authorization',
        ],
        censor: '***',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
