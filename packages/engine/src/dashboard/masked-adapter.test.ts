import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MASK } from './mask.js';
import { MaskedQueueAdapter } from './masked-adapter.js';

const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const prefix = `{ecgcad-test-masked-adapter-${process.pid}-${Date.now()}}`;
const queue = new Queue('ecg.write', { connection, prefix });
const PATIENT = { identifier: 'MRN-ADAPT-991', name: 'Qwertzu^Ilvana', birthDate: '1961-03-09', sex: 'male' };

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
});

describe('MaskedQueueAdapter', () => {
  it('shows a failed job with data, reason, stack trace and logs masked; its methods still work', async () => {
    await queue.add('write', { prediction: { ecg: { id: '1.2.3', patient: PATIENT } } }, { jobId: 'j1' });
    // A real worker fails it for good, quoting the patient in its reason as an EHR answer might.
    const worker = new Worker(
      'ecg.write',
      async (job) => {
        await job.log(`EHR said: no patient ${PATIENT.name} (${PATIENT.identifier})`);
        throw new UnrecoverableError(`PERMANENT: EHR answered 400: Patient ${PATIENT.identifier} born 19610309`);
      },
      { connection, prefix },
    );
    await new Promise<void>((resolve) => worker.once('failed', () => resolve()));
    await worker.close();

    const adapter = new MaskedQueueAdapter(queue);
    const job = await adapter.getJob('j1');
    expect(job).toBeDefined();
    expect(await job?.getState()).toBe('failed');
    const json = job?.toJSON();
    const shown = JSON.stringify(json);
    for (const value of [PATIENT.identifier, 'Qwertzu', 'Ilvana', PATIENT.birthDate, '19610309']) {
      expect(shown).not.toContain(value);
    }
    expect(json?.failedReason).toBe(`PERMANENT: EHR answered 400: Patient ${MASK} born ${MASK}`);
    expect(json?.stacktrace).toEqual([]);
    expect(json?.data).toMatchObject({ prediction: { ecg: { id: '1.2.3' } } });
    expect(adapter.format('data', job?.data)).toEqual({
      prediction: { ecg: { id: '1.2.3', patient: { identifier: MASK, name: MASK, birthDate: MASK, sex: MASK } } },
    });

    const [listed] = await adapter.getJobs(['failed']);
    expect(JSON.stringify(listed?.toJSON())).not.toContain(PATIENT.identifier);
    const logs = await adapter.getJobLogs('j1');
    expect(logs).toEqual([`EHR said: no patient ${MASK} (${MASK})`]);
  });
});
