import { describe, expect, it } from 'vitest';
import { publicReason } from './ecg-status.js';

describe('publicReason', () => {
  it('keeps the stage workers own `CODE: message` reasons', () => {
    expect(publicReason('NOT_ANALYSABLE: lead II is flat')).toBe('NOT_ANALYSABLE: lead II is flat');
  });

  it('replaces library text and missing reasons with a fixed text', () => {
    for (const raw of ['job stalled more than allowable limit', 'connect ECONNREFUSED 10.0.0.7:443', undefined]) {
      expect(publicReason(raw)).toBe('processing failed (details in the engine log and dead-letter list)');
    }
  });

  it('caps the length', () => {
    expect(publicReason(`PERMANENT: ${'x'.repeat(1000)}`)).toHaveLength(300);
  });
});
