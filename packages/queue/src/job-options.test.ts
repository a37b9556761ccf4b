import { describe, expect, it } from 'vitest';
import { stageJobOptions } from './job-options.js';

describe('stageJobOptions', () => {
  it('defaults to 12 attempts, exponential backoff from 1 s with jitter, and bounded history', () => {
    expect(stageJobOptions()).toEqual({
      attempts: 12,
      backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
      removeOnComplete: { age: 86_400, count: 200_000 },
      removeOnFail: { age: 7 * 86_400 },
    });
  });

  it('takes the attempts and first delay it is given', () => {
    const options = stageJobOptions({ attempts: 3, backoffDelayMs: 250 });
    expect(options.attempts).toBe(3);
    expect(options.backoff.delay).toBe(250);
  });
});
