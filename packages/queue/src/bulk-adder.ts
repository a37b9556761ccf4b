/**
 * Coalesces the job adds of one event-loop turn into one `Queue.addBulk` (one Redis round trip: BullMQ pipelines
 * the add scripts). The infer stage adds one write job per ECG, and the ECGs of a batch finish together: 16 adds
 * become one. Each caller's promise settles when its job is in Redis (or with the error of the bulk add, which the
 * caller's job then retries: adds are idempotent by job id).
 */
import type { JobsOptions, Queue } from 'bullmq';

interface PendingAdd<D> {
  name: string;
  data: D;
  opts: JobsOptions;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Adds jobs to one queue, coalescing those of the same event-loop turn. */
export class BulkAdder<D> {
  private readonly queue: Queue<D>;
  private pending: PendingAdd<D>[] = [];
  private scheduled = false;

  constructor(queue: Queue<D>) {
    this.queue = queue;
  }

  /** Adds a job; resolves once it (and the rest of its turn's bulk) is in Redis. */
  add(name: string, data: D, opts: JobsOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ name, data, opts, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the microtasks of this turn: the other jobs of a batch resume in them and add theirs.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    // Queue<D>'s own name and data types are BullMQ's extracted generics; these are what it is given.
    const queue = this.queue as unknown as Queue;
    const added =
      batch.length === 1
        ? queue.add(
            (batch[0] as PendingAdd<D>).name,
            (batch[0] as PendingAdd<D>).data,
            (batch[0] as PendingAdd<D>).opts,
          )
        : queue.addBulk(batch.map(({ name, data, opts }) => ({ name, data, opts })));
    added.then(
      () => {
        for (const add of batch) add.resolve();
      },
      (err: unknown) => {
        for (const add of batch) add.reject(err);
      },
    );
  }
}
