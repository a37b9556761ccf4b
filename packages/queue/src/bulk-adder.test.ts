import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BulkAdder } from './bulk-adder.js';

// Real Redis on 127.0.0.1:6379, a prefix of its own, removed afterwards.
const prefix = `{ecgcad-test-bulk-adder-${randomUUID().slice(0, 8)}}`;
const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queue = new Queue<{ n: number }>('bulk', { connection, prefix });

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
});

describe('BulkAdder (real Redis)', () => {
  it("adds the jobs of one turn in one addBulk, each caller's promise settling once its job is in Redis", async () => {
    const adder = new BulkAdder(queue);
    const bulks: number[] = [];
    const addBulk = queue.addBulk.bind(queue);
    queue.addBulk = (jobs) => {
      bulks.push(jobs.length);
      return addBulk(jobs);
    };
    const ids = Array.from({ length: 16 }, (_, n) => `job-${n}`);
    await Promise.all(ids.map((jobId, n) => adder.add('w', { n }, { jobId, attempts: 3 })));
    expect(bulks).toEqual([16]);
    for (const [n, id] of ids.entries()) {
      const job = await queue.getJob(id);
      expect(job?.data).toEqual({ n });
      expect(job?.opts.attempts).toBe(3);
    }
    // A resend of the same ids adds nothing twice; a lone add goes as a plain add.
    await Promise.all(ids.map((jobId, n) => adder.add('w', { n: n + 100 }, { jobId })));
    await adder.add('w', { n: 999 }, { jobId: 'lone' });
    expect(bulks).toEqual([16, 16]);
    expect(await queue.getJobCountByTypes('waiting')).toBe(17);
    expect((await queue.getJob('job-3'))?.data).toEqual({ n: 3 });
    queue.addBulk = addBulk;
  });

  it('rejects every caller of a bulk that fails', async () => {
    const adder = new BulkAdder(queue);
    const results = await Promise.allSettled([
      adder.add('w', { n: 1 }, { jobId: 'ok-1' }),
      // BullMQ refuses an integer-looking custom id.
      adder.add('w', { n: 2 }, { jobId: '12345' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
