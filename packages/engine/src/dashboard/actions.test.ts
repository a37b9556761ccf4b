import { describe, expect, it } from 'vitest';
import { dashboardAction } from './actions.js';

describe('dashboardAction', () => {
  it('reads are reads, whatever the path', () => {
    expect(dashboardAction('GET', '/api/queues?activeQueue=ecg.write')).toEqual({ kind: 'read' });
    expect(dashboardAction('HEAD', '/static/js/main.js')).toEqual({ kind: 'read' });
  });

  it('a retry of one job or of the failed set, with decoded names', () => {
    expect(dashboardAction('PUT', '/api/queues/ecg.write/write%3A1.2.3/retry')).toEqual({
      kind: 'retry',
      queueName: 'ecg.write',
      jobId: 'write:1.2.3',
    });
    expect(dashboardAction('put', '/api/queues/ecg.infer/retry/failed')).toEqual({
      kind: 'retry-failed',
      queueName: 'ecg.infer',
    });
  });

  it('refuses every other change bull-board offers, and a retry of completed jobs', () => {
    for (const [method, path] of [
      ['PUT', '/api/queues/ecg.write/retry/completed'],
      ['PUT', '/api/queues/ecg.write/clean/failed'],
      ['PUT', '/api/queues/ecg.write/42/clean'],
      ['PUT', '/api/queues/ecg.write/42/promote'],
      ['PUT', '/api/queues/ecg.write/pause'],
      ['PUT', '/api/queues/pause'],
      ['PUT', '/api/queues/ecg.write/empty'],
      ['PUT', '/api/queues/ecg.write/obliterate'],
      ['POST', '/api/queues/ecg.write/add'],
      ['PATCH', '/api/queues/ecg.write/42/update-data'],
      ['DELETE', '/api/queues/ecg.write/42'],
      ['POST', '/api/metrics/history/purge'],
      ['PUT', '/api/queues/ecg.write/%E0%A4%A/retry'],
      ['PUT', '/api/queues/ecg.write/42/retry/extra'],
    ] as const) {
      expect(dashboardAction(method, path), `${method} ${path}`).toEqual({ kind: 'refused' });
    }
  });
});
