/**
 * Intakes for queued mode. `createQueuedIntake` checks (DICOM) or decodes at the feed (so the sender learns at once
 * when its bytes are refused; a DICOM object is decoded too when an infer stage of this process takes its ECG, see
 * QueuedIntakeOptions.handoff), stores the ECG in the payload store (a DICOM object as received, anything else
 * encoded by the payload codec) and adds the `ecg.infer` job; it resolves only once the job is in Redis, so a feed
 * acknowledges nothing that could still be lost. `createRawIntake` defers decoding to the ingest worker (for bytes
 * too big or too many to decode inline): it stores the raw bytes and adds an `ecg.ingest` job. Both are idempotent:
 * job id = ECG id (or the bytes' hash), so a resend adds nothing.
 */
import {
  DuplicateIdError,
  type Ecg,
  type EcgHandoff,
  ecgJobId,
  encodeEcgPayload,
  type InferJobData,
  type IngestJobData,
  isEncodedEcgPayload,
  type PayloadStore,
  payloadKey,
  type RetryPolicy,
  TransientError,
} from '@ecgcad/ecg';
import { type Queue, stageJobOptions, writesLeft } from '@ecgcad/queue';
import { decodeEcg } from './decode.js';
import { sha256Hex } from './decode-common.js';
import { checkDicom, decodeDicom } from './decode-dicom.js';
import type { Intake, IntakeMeta, IntakeReceipt } from './feeds/intake.js';
import { checkInputSize, type DecodeLimits, resolveLimits } from './limits.js';
import { detectFormat } from './sniff.js';

/** Options of {@link createQueuedIntake}. */
export interface QueuedIntakeOptions {
  /** Producer for `ecg.infer` (on a connection with bounded retries, so a request fails fast when Redis is away). */
  inferQueue: Queue<InferJobData>;
  payloads: PayloadStore;
  /** Decoder limits (defaults in limits.ts). */
  limits?: Partial<DecodeLimits>;
  /** Retry policy of the infer jobs. */
  retry?: Partial<RetryPolicy>;
  /**
   * Where an infer worker in this process takes the ECGs taken here (`ecgcad serve`). A DICOM object is then
   * decoded, not only checked (the same refusals), and its ECG left under its payload key, so that worker neither
   * reads the payload back from Redis nor decodes it again. Only an optimisation: the payload is stored as always.
   */
  handoff?: EcgHandoff;
}

/** Where a Redis call failed, as a TransientError (the sender retries; 0xA700 / HTTP 503). */
async function redisCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TransientError) throw err;
    throw new TransientError(`queue unavailable: could not ${what}`, { cause: err });
  }
}

/**
 * Stores a decoded Ecg and adds its `ecg.infer` job. A job already waiting, running or done makes this a duplicate
 * when its bytes are the same, and a DuplicateIdError (refused, kept) when another document took the id; a failed
 * job (the dead-letter set) is replaced, so a resend is a way to retry.
 *
 * `source`: the bytes `ecg` was decoded from. A DICOM object is stored as it is (the stages decode it again, see
 * readEcgPayload; the bytes must not change until this resolves); without them, or for other formats, the payload
 * is the codec's encoding of `ecg`.
 */
export async function enqueueEcg(
  ecg: Ecg,
  options: Pick<QueuedIntakeOptions, 'inferQueue' | 'payloads' | 'retry'>,
  source?: Uint8Array,
): Promise<IntakeReceipt> {
  const keepsSource = source !== undefined && keepsSourceBytes(ecg, source);
  return enqueuePayload(ecg, keepsSource ? source : encodeEcgPayload(ecg), keepsSource, options);
}

/** The ECG a payload belongs to: its id and its source block. */
type EcgIdentity = Pick<Ecg, 'id' | 'source'>;

/** enqueueEcg once the payload is made: `isSource` when it is the bytes as received (the job then names the feed). */
async function enqueuePayload(
  ecg: EcgIdentity,
  payload: Uint8Array,
  isSource: boolean,
  options: Pick<QueuedIntakeOptions, 'inferQueue' | 'payloads' | 'retry'>,
  sent?: SentPayload,
): Promise<IntakeReceipt> {
  const jobId = ecgJobId(ecg.id);
  // The payload key names the document (id and bytes, or for a write sent before the check the bytes alone, which
  // name the id too), so a concurrent document with the same id cannot overwrite this one's waveform; whichever job
  // BullMQ keeps, its payload is its own.
  const key = sent?.key ?? payloadKey('ecg', `${ecg.id}\n${ecg.source.sha256}`);
  const data: InferJobData = {
    ecgId: ecg.id,
    sha256: ecg.source.sha256,
    payloadKey: key,
    receivedAt: ecg.source.receivedAt,
    ...(isSource ? { feed: ecg.source.feed } : {}),
  };
  const add = { queue: options.inferQueue, data, opts: { ...stageJobOptions(options.retry), jobId } };
  const delivery: Delivery = { ecg, payloads: options.payloads, key, payload };
  // One round trip for a new ECG: a write of the payload where none is, the look-up of the job there before, the
  // add and the read of the job that stands (see addAndReadBack). The write never touches a payload that is there
  // (another delivery's job may own it); what it stored for nothing is removed again below.
  const write = { store: options.payloads, key, payload, ...(sent ? { writing: sent.writing } : {}) };
  const seen = await redisCall('add the job', () => addAndReadBack(add, write));
  const wrote = seen.wrote === true;
  if (seen.existed && !seen.standing.ours) {
    if (seen.failed) return replaceFailedJob(delivery, add, wrote);
    return duplicateOf(delivery, seen.standing.sha256, wrote);
  }
  // No job before (or the one seen went away before the add, which then added this one): an add with a job id
  // that exists is a no-op, so when two first deliveries raced, the job that stands tells which one was taken.
  await refuseIfAnotherStands(delivery, seen.standing.sha256);
  // A copy left there (a job's gone before its payload expired) is replaced, as any resend did. The first write
  // could not (it only writes where nothing is), so this costs a second round trip, in this rare case only;
  // until it lands, the job reads the earlier delivery's copy of the same document (same id and bytes).
  if (!wrote) await options.payloads.put(key, payload);
  return { ecgId: ecg.id };
}

/**
 * Whether the payload is the source bytes as received: for a DICOM object (a re-decode costs about what encoding
 * does, and the feed's hand-over no longer pays for the encoding), unless its preamble happens to begin with the
 * codec's magic, which would make a stage read it as an encoded Ecg. XML sources are encoded: parsing them again
 * would cost every stage more than the codec does.
 */
function keepsSourceBytes(ecg: Ecg, source: Uint8Array): boolean {
  return ecg.source.format === 'dicom' && !isEncodedEcgPayload(source);
}

/** One document being taken: the ECG, and its payload under its key in the store. */
interface Delivery {
  ecg: EcgIdentity;
  payloads: PayloadStore;
  key: string;
  payload: Uint8Array;
}

/**
 * A job stood under the id before this delivery: a resend of the same document (a duplicate), or, when that job
 * holds another document's sha256, a DuplicateIdError. The payload this delivery wrote for nothing goes either way.
 */
async function duplicateOf(delivery: Delivery, earlier: string | undefined, wrote: boolean): Promise<IntakeReceipt> {
  const { ecg, payloads, key } = delivery;
  if (wrote) await payloads.delete(key);
  if (earlier && earlier !== ecg.source.sha256) throw new DuplicateIdError();
  return { ecgId: ecg.id, duplicate: true };
}

/** After the add: another document's job stands under the id (two first deliveries raced), so this one is refused. */
async function refuseIfAnotherStands(delivery: Delivery, standing: string | undefined): Promise<void> {
  if (standing !== undefined && standing !== delivery.ecg.source.sha256) {
    await delivery.payloads.delete(delivery.key);
    throw new DuplicateIdError();
  }
}

/**
 * The slow path for a job in the failed set: as before the one-round-trip intake, it looks the job up again
 * (its state may have changed since), removes it when still failed, stores the payload (replacing a copy left
 * there), adds the job and reads back which document's job stands.
 */
async function replaceFailedJob(delivery: Delivery, add: AddRequest, wrote: boolean): Promise<IntakeReceipt> {
  const existing = await redisCall('look up the job', () => add.queue.getJob(add.opts.jobId));
  if (existing) {
    const state = await redisCall('read the job state', () => existing.getState());
    if (state !== 'failed' && state !== 'unknown') {
      return duplicateOf(delivery, (existing.data as Partial<InferJobData> | undefined)?.sha256, wrote);
    }
    if (state === 'failed') await redisCall('replace a failed job', () => existing.remove());
  }
  // A failed job's copy left there is replaced, as any resend did.
  if (!wrote) await delivery.payloads.put(delivery.key, delivery.payload);
  const { standing } = await redisCall('add the job', () => addAndReadBack(add));
  await refuseIfAnotherStands(delivery, standing.sha256);
  return { ecgId: delivery.ecg.id };
}

/** Options of Queue.add. */
type JobsOptions = NonNullable<Parameters<Queue<InferJobData>['add']>[2]>;

/** The job to add: Queue.add's arguments (the id in the options). */
interface AddRequest {
  queue: Queue<InferJobData>;
  data: InferJobData;
  opts: JobsOptions & { jobId: string };
}

/** The payload write that goes out with the add: putIfAbsent of `payload` under `key`. */
interface PayloadWrite {
  store: PayloadStore;
  key: string;
  payload: Uint8Array;
  /** The putIfAbsent, when it was sent already (takeDicom); else addAndReadBack sends it. */
  writing?: Promise<boolean>;
}

/** A payload write sent before its ECG was checked: its key, and the putIfAbsent's outcome. */
interface SentPayload {
  key: string;
  writing: Promise<boolean>;
}

/** What one add round trip saw and did. */
interface AddOutcome {
  /** A job stood under the id before the add (then the add was a no-op, unless that job went in between). */
  existed: boolean;
  /** That job was in the failed set. */
  failed: boolean;
  /** Whether the payload write stored the payload (undefined when no write went with the add). */
  wrote?: boolean;
  /** The job that stands after the add: its sha256, and whether it is the job this add built. */
  standing: { sha256: string | undefined; ours: boolean };
}

/** What Queue.add builds a job with (a Queue's protected `Job` class: BullMQ's Job, or a subclass of it). */
type JobClass = new (
  queue: Queue<InferJobData>,
  name: string,
  data: InferJobData,
  opts: JobsOptions,
  id: string,
) => { timestamp: number; addJob(client: unknown): Promise<unknown> };

/** The commands the add round trip sends on the queue's connection (BullMQ's client: ioredis behind a Proxy). */
interface QueueClient {
  /** The connection's socket (absent before it connects). */
  stream?: { cork(): void; uncork(): void };
  exists(key: string): Promise<number>;
  zscore(key: string, member: string): Promise<string | null>;
  hmget(key: string, ...fields: string[]): Promise<(string | null)[]>;
}

/**
 * Adds the `ecg.infer` job as Queue.add does (the queue's default options under ours, BullMQ's own add script), in
 * one round trip with what it needs to know: the payload's putIfAbsent when `write` is given, sent first (on the
 * queue's connection, as in the engine, Redis runs it first; a store on another connection is waited for first, a
 * second round trip), then, without waiting, EXISTS of the job and ZSCORE of its id in the failed set (the job
 * there before, and whether it is failed, without reading the job), the add script, and HMGET of the standing job's
 * `data` and `timestamp`. Redis runs one connection's commands in the order sent, so the read sees the add; the
 * payload's write corks the socket until the next tick, so all of them leave in one write. (Not an ioredis
 * Pipeline: building one copies BullMQ's sixty-odd script commands onto it, measured at a few percent of the
 * feed's CPU per ECG.)
 *
 * Commands on one connection are not a transaction: another client's may run in between, e.g. remove the job
 * EXISTS saw before the add, which then adds this one. The read-back tells: the standing job is ours when it holds
 * our data and our timestamp. ioredis resends a script Redis no longer knows (NOSCRIPT, after SCRIPT FLUSH) after
 * the read, so a read that saw no job is made again once the add is done. When the payload write fails while the
 * add built our job, the job is taken back (best effort) before the error goes on, so that no job stands without
 * its payload.
 */
async function addAndReadBack(add: AddRequest, write?: PayloadWrite): Promise<AddOutcome> {
  const { queue, data, opts } = add;
  const client = (await queue.getBackend().client) as unknown as QueueClient;
  // Sent first, so on the queue's connection it runs first; its outcome is read after the others'. A store on
  // another connection is waited for (a refusal then ends here, before any add): the job must not stand before
  // its payload.
  const writing = write?.writing ?? write?.store.putIfAbsent(write.key, write.payload);
  writing?.catch(() => {}); // read below; a rejection must not surface as unhandled while the others run
  if (writing && !writesInOrderWith(write?.store, client)) await writing;
  const jobKey = queue.toKey(opts.jobId);
  const JobType = (queue as unknown as { Job: JobClass }).Job;
  const job = new JobType(queue, 'infer', data, { ...queue.defaultJobOptions, ...opts }, opts.jobId);
  // The four leave in one write: the socket is corked while ioredis writes them (and stays corked to the next tick
  // when the payload's write, sent in the same tick, corked it first).
  const socket = client.stream;
  socket?.cork();
  let sent: [Promise<number>, Promise<string | null>, Promise<unknown>, Promise<(string | null)[]>];
  try {
    sent = [
      client.exists(jobKey),
      client.zscore(queue.toKey('failed'), opts.jobId),
      // Job.addJob sends BullMQ's add script before it returns; it rejects when the script answers a negative code.
      job.addJob(client),
      client.hmget(jobKey, 'data', 'timestamp'),
    ];
  } finally {
    socket?.uncork();
  }
  const [existed, failed, added, read] = sent;
  const [existedReply, failedReply, addedReply, readReply, writeReply] = await Promise.allSettled([
    existed,
    failed,
    added,
    read,
    writing,
  ]);
  if (writeReply.status === 'rejected') {
    if (readReply.status === 'fulfilled' && standingJob(readReply.value, data, job.timestamp).ours) {
      await queue.remove(opts.jobId).catch(() => {});
    }
    throw writeReply.reason;
  }
  let standing = standingJob(settledValue(readReply), data, job.timestamp);
  settledValue(addedReply);
  if (standing.sha256 === undefined)
    standing = standingJob(await client.hmget(jobKey, 'data', 'timestamp'), data, job.timestamp);
  return {
    existed: settledValue(existedReply) === 1,
    failed: settledValue(failedReply) !== null,
    ...(writeReply.value === undefined ? {} : { wrote: writeReply.value }),
    standing,
  };
}

/** A settled command's value, or its error thrown. */
function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** Whether the store's commands reach Redis in order with `client`'s (RedisPayloadStore on that connection). */
function writesInOrderWith(store: PayloadStore | undefined, client: unknown): boolean {
  return (store as { isOnConnection?: (client: unknown) => boolean } | undefined)?.isOnConnection?.(client) === true;
}

/** The job HMGET `data` `timestamp` read: its sha256, and whether it is the job built from `data` at `timestamp`. */
function standingJob(read: unknown, data: InferJobData, timestamp: number): AddOutcome['standing'] {
  const [stored, storedTimestamp] = Array.isArray(read) ? (read as unknown[]) : [];
  if (typeof stored !== 'string') return { sha256: undefined, ours: false };
  const sha256 = (JSON.parse(stored) as Partial<InferJobData> | null)?.sha256;
  return {
    sha256: typeof sha256 === 'string' ? sha256 : undefined,
    ours: stored === JSON.stringify(data) && storedTimestamp === String(timestamp),
  };
}

/**
 * Intake that checks a DICOM object (storing it as received) or decodes any other format inline, and enqueues
 * `ecg.infer`. Decoder errors pass through (the feed refuses the bytes).
 */
export function createQueuedIntake(options: QueuedIntakeOptions): Intake {
  const limits = resolveLimits(options.limits);
  return async (bytes: Uint8Array, meta: IntakeMeta): Promise<IntakeReceipt> => {
    // A feed that wrapped the sender's bytes (C-STORE) gives their hash; it is the ECG's sha256 (IntakeMeta).
    const decodeMeta = { feed: meta.feed, receivedAt: meta.receivedAt, sha256: meta.sha256 };
    // A DICOM object is checked (every refusal of a decode), not decoded to samples, and stored as received; one
    // whose preamble reads as the codec's magic is decoded and encoded, as every other format is.
    if (!isEncodedEcgPayload(bytes) && isDicomObject(bytes)) return takeDicom(bytes, decodeMeta, limits, options);
    return enqueueEcg(decodeEcg(bytes, decodeMeta, limits), options);
  };
}

/** Whether the bytes sniff as DICOM (format detection never throws for DICOM; anything else is left to the check). */
function isDicomObject(bytes: Uint8Array): boolean {
  try {
    return detectFormat(bytes) === 'dicom';
  } catch {
    return false;
  }
}

/**
 * Takes a DICOM object as received. Its payload's write goes out first, keyed by the bytes' hash, so Redis reads
 * the 120 KB or so while the object is checked; then the job is added as enqueueEcg does. A refused object's
 * payload is taken back (the refusal and its bytes go to the rejected store as always). With a handoff the object
 * is decoded instead of checked, and its ECG left there for the infer worker of this process.
 */
async function takeDicom(
  bytes: Uint8Array,
  decodeMeta: { feed: string; receivedAt: string; sha256?: string },
  limits: DecodeLimits,
  options: QueuedIntakeOptions,
): Promise<IntakeReceipt> {
  const { handoff } = options;
  checkInputSize(bytes.length, limits); // what a decode refuses first, before anything goes to Redis
  const sha256 = decodeMeta.sha256 ?? sha256Hex(bytes);
  const key = payloadKey('ecg', `source\n${sha256}`);
  const writing = redisCall('store the payload', () => options.payloads.putIfAbsent(key, bytes));
  writing.catch(() => {}); // read by addAndReadBack, or below on a refusal
  // The store's socket is corked to the end of this turn (its own corking, or the engine's coalesceWrites): let the
  // write leave before the check takes the thread, so Redis reads it meanwhile.
  await writesLeft();
  let checked: Pick<Ecg, 'id' | 'source'>;
  let decoded: Ecg | undefined;
  try {
    if (handoff) checked = decoded = decodeDicom(bytes, { ...decodeMeta, sha256 }, limits);
    else checked = checkDicom(bytes, { ...decodeMeta, sha256 }, limits);
  } catch (err) {
    if (await writing.catch(() => false)) await options.payloads.delete(key).catch(() => {});
    throw err;
  }
  if (!handoff || !decoded) return enqueuePayload(checked, bytes, true, options, { key, writing });
  // Left before the add: once the job is in Redis the infer worker may take it at once. The worker takes an entry
  // only for the job of the same delivery (id, hash, feed, receipt time), so a resend's entry never stands in.
  const left = handoff.put(key, decoded);
  try {
    const receipt = await enqueuePayload(checked, bytes, true, options, { key, writing });
    if (receipt.duplicate && left) handoff.remove(key);
    return receipt;
  } catch (err) {
    if (left) handoff.remove(key);
    throw err;
  }
}

/** Options of {@link createRawIntake}. */
export interface RawIntakeOptions {
  /** Producer for `ecg.ingest`. */
  ingestQueue: Queue<IngestJobData>;
  payloads: PayloadStore;
  retry?: Partial<RetryPolicy>;
}

/**
 * Intake that stores the raw bytes and enqueues `ecg.ingest`; the ingest worker decodes. The receipt's ECG id is
 * `sha256:<hex>` of the bytes (the real id is known only after decoding). Refusals then surface in the failed set
 * and the rejected store, not to the sender.
 */
export function createRawIntake(options: RawIntakeOptions): Intake {
  return async (bytes: Uint8Array, meta: IntakeMeta): Promise<IntakeReceipt> => {
    const sha256 = meta.sha256 ?? sha256Hex(bytes);
    const ecgId = `sha256:${sha256}`;
    const jobId = ecgJobId(ecgId);
    const existing = await redisCall('look up the job', () => options.ingestQueue.getJob(jobId));
    if (existing) return { ecgId, duplicate: true };
    const key = payloadKey('raw', sha256);
    await options.payloads.put(key, bytes);
    const data: IngestJobData = {
      payloadKey: key,
      feed: meta.feed,
      receivedAt: meta.receivedAt,
      ...(meta.name === undefined ? {} : { name: meta.name }),
      ...(meta.sha256 === undefined ? {} : { sha256: meta.sha256 }),
    };
    await redisCall('add the job', () =>
      options.ingestQueue.add('ingest', data, { ...stageJobOptions(options.retry), jobId }),
    );
    return { ecgId };
  };
}
