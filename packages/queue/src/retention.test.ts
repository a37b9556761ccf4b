import { ConfigError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_RETENTION, payloadTtlS } from './retention.js';

describe('payloadTtlS', () => {
  it('derives the TTL from the dead-letter retention and the longest wait: 8 days by default', () => {
    expect(payloadTtlS(DEFAULT_QUEUE_RETENTION)).toBe(8 * 86_400);
    expect(payloadTtlS({ keepFailedS: 7, maxPendingS: 2 })).toBe(9);
  });

  it('takes a configured TTL that is long enough, refuses one that is shorter', () => {
    expect(payloadTtlS({ keepFailedS: 7, maxPendingS: 2 }, 30)).toBe(30);
    expect(payloadTtlS({ keepFailedS: 7, maxPendingS: 2 }, 9)).toBe(9);
    // The old fixed 24 h TTL against the default week of dead-letter retention.
    expect(() => payloadTtlS(DEFAULT_QUEUE_RETENTION, 86_400)).toThrow(ConfigError);
    expect(() => payloadTtlS(DEFAULT_QUEUE_RETENTION, 86_400)).toThrow(/shorter than the dead-letter retention/);
  });
});
