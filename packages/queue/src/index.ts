/**
 * @ecgcad/queue: the queue infrastructure of queued mode, kept out of the kernel (@ecgcad/ecg) so that decoders,
 * `ecgcad inspect` and `ecgcad run` never load BullMQ or a Redis client. Only the stages' worker files (and the
 * ingest queued intake) and the engine import it.
 */

// The BullMQ types the stages' worker files name, so a stage depends on this package alone for its queue code.
export type { ConnectionOptions, Job, Queue, Worker } from 'bullmq';
export * from './bulk-adder.js';
export * from './coalesce-writes.js';
export * from './job-options.js';
export * from './redis-payload-store.js';
export * from './retention.js';
export * from './stage-worker.js';
