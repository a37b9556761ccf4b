import { ConfigError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { jobRetentionOf, payloadTtlOf } from './payloads.js';

describe('payload TTL and job retention from the configuration', () => {
  it('defaults: failed jobs a week, completed a day, a day of waiting, so payloads live 8 days; files 30 days', () => {
    const config = loadConfig({ env: {} });
    expect(config.retention).toEqual({
      failedJobsS: 604_800,
      completedJobsS: 86_400,
      rejectedS: 2_592_000,
      folderDoneS: 2_592_000,
      sweepIntervalS: 3600,
    });
    expect(payloadTtlOf(config)).toBe(8 * 86_400);
    expect(jobRetentionOf(config)).toEqual({ keepFailedS: 604_800, keepCompletedS: 86_400 });
  });

  it('follows the retention, takes a longer TTL and refuses a shorter one', () => {
    const longer = (ttlS?: number) =>
      loadConfig({
        env: {},
        overrides: [
          { path: ['retention', 'failedJobsS'], value: 30 * 86_400 },
          { path: ['payloads', 'maxPendingS'], value: 3 * 86_400 },
          { path: ['payloads', 'ttlS'], value: ttlS },
        ],
      });
    expect(payloadTtlOf(longer())).toBe(33 * 86_400);
    expect(payloadTtlOf(longer(40 * 86_400))).toBe(40 * 86_400);
    expect(() => payloadTtlOf(longer(7 * 86_400))).toThrow(ConfigError);
  });
});
