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

  it('keeps finished jobs as long as the retention says', () => {
    const options = stageJobOptions({ keepFailedS: 60, keepCompletedS: 5 });
    expect(options.removeOnFail).toEqual({ age: 60 });
    expect(options.removeOnComplete).toEqual({ age: 5, count: 200_000 });
  });
});
