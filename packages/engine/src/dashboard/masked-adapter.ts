/**
 * bull-board's BullMQ adapter with the dashboard's masking: job data, return value, progress and name through
 * bull-board's formatters, and, where bull-board has no formatter, the failure reason (the job's own patient values
 * cut out), the stack trace (dropped: frames help nobody on this page and may quote anything) and job logs.
 */
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { Job, Queue } from 'bullmq';
import { MASK, maskJobData, maskJobName, maskText, patientValuesOf } from './mask.js';

/** The job as the dashboard may see it: same methods (getState...), masked fields and JSON. */
export function maskedJob<J extends Job>(job: J): J {
  let values: string[] | undefined;
  const patientValues = (): string[] => {
    values ??= patientValuesOf(job.data);
    return values;
  };
  const failedReason = (): string | undefined =>
    typeof job.failedReason === 'string' ? maskText(job.failedReason, patientValues()) : job.failedReason;
  return new Proxy(job, {
    get(target, property, receiver) {
      switch (property) {
        case 'data':
          return maskJobData(target.data);
        case 'returnvalue':
          return maskJobData(target.returnvalue);
        case 'failedReason':
          return failedReason();
        case 'stacktrace':
          return [];
        case 'toJSON':
          return () => {
            const json = target.toJSON();
            return {
              ...json,
              name: maskJobName(json.name),
              data: maskJobData(target.data),
              returnvalue: maskJobData(target.returnvalue),
              progress: typeof json.progress === 'number' ? json.progress : MASK,
              failedReason: failedReason(),
              stacktrace: [],
            };
          };
        default: {
          const value = Reflect.get(target, property, receiver);
          // Methods run on the job itself (its private fields are not on the proxy).
          return typeof value === 'function' ? value.bind(target) : value;
        }
      }
    },
  });
}

/** Options of {@link MaskedQueueAdapter}. */
export interface MaskedQueueAdapterOptions {
  description?: string;
}

/** A queue on the dashboard: retries of failed jobs offered (the server decides who may), nothing unmasked. */
export class MaskedQueueAdapter extends BullMQAdapter {
  constructor(queue: Queue, options: MaskedQueueAdapterOptions = {}) {
    // bull-board's base adapter reads allowCompletedRetries; the BullMQ adapter's type does not list it.
    const adapterOptions = {
      readOnlyMode: false,
      allowRetries: true,
      allowCompletedRetries: false,
      ...(options.description ? { description: options.description } : {}),
    };
    super(queue, adapterOptions);
    this.setFormatter('data', maskJobData);
    this.setFormatter('returnValue', maskJobData);
    this.setFormatter('progress', (progress: unknown) => (typeof progress === 'number' ? progress : MASK));
    this.setFormatter('name', (job: { name?: unknown }) => maskJobName(job?.name));
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    return job ? maskedJob(job) : job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    return (await super.getJobs(...args)).map((job) => maskedJob(job));
  }

  override async getJobLogs(id: string): Promise<string[]> {
    const [logs, job] = await Promise.all([super.getJobLogs(id), super.getJob(id)]);
    const values = patientValuesOf(job?.data);
    return logs.map((line) => maskText(line, values));
  }
}
