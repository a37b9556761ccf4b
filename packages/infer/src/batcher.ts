/**
 * Dynamic batching (Triton-style) in front of one ModelSession. Callers submit one ECG's model input and get that
 * ECG's probabilities back; requests wait at most `maxDelayMs` for a batch of up to `maxBatch`. Every input is
 * checked (length on submit, finiteness once it sits in the batch tensor), so one bad request never fails its
 * batch-mates. A session with several instances runs as many batches side by side (session.concurrency); while
 * they run, the next batch is assembled in a buffer of its own.
 */
import { EventEmitter } from 'node:events';
import {
  allFinite,
  copyIfFinite,
  type EcgcadError,
  EcgcadError as EcgcadErrorClass,
  MalformedInputError,
  TransientError,
} from '@ecgcad/ecg';
import type { ModelSession } from './session.js';

/**
 * Writes one ECG's model input straight into the batch tensor at `offset` (e.g. prepare(ecg, spec, batch, offset)),
 * so inputs are not copied twice. It runs when the batch is assembled; if it throws, only this request fails.
 */
export type InputWriter = (batch: Float32Array, offset: number) => void;

/** Options for DynamicBatcher. */
export interface DynamicBatcherOptions {
  /** Largest batch. Default 16, or the model's fixed batch size. */
  maxBatch?: number;
  /** Longest a request waits for batch-mates once the session is free. Default 5 ms. */
  maxDelayMs?: number;
  /** Requests waiting for a batch (not yet running) before backpressure applies. Default 1024. */
  maxQueue?: number;
  /**
   * What submit() does when `maxQueue` requests wait: `reject` (default) fails at once with a TransientError
   * ('queue full', retryable by the queue worker); `wait` waits for room, within the request's timeout.
   */
  whenFull?: 'reject' | 'wait';
  /** Per-request limit from submit to result, in ms; a late request fails with a TransientError. Default 30 000. */
  timeoutMs?: number;
}

/** Per-request options of submit(). */
export interface SubmitOptions {
  /** This request's limit from submit to result, in ms (default: the batcher's timeoutMs). */
  timeoutMs?: number;
  /**
   * Sees this request's probabilities with its input still in the batch tensor, as soon as the run returns and
   * before the tensor takes the next batch (views: copy what you keep). Lets a caller keep the input only when the
   * result calls for it (an occlusion map) instead of copying every input. If it throws, the request fails.
   */
  onResult?: (probabilities: Float32Array, input: Float32Array) => void;
}

/** What the 'batch' event reports after every session run. */
export interface BatchEvent {
  /** Requests in the batch. */
  size: number;
  /** maxBatch (or the fixed batch size the tensor was padded to). */
  capacity: number;
  /** Time the session spent on the run, ms. */
  runMs: number;
  /** Longest wait of a member from submit to the start of the run, ms. */
  maxWaitMs: number;
  /** Requests still waiting when the run finished. */
  queueDepth: number;
  /** False when the run failed (its members got a TransientError). */
  ok: boolean;
}

/** Events of a DynamicBatcher. */
export interface DynamicBatcherEvents {
  batch: (event: BatchEvent) => void;
}

interface Request {
  input: Float32Array | InputWriter;
  onResult: SubmitOptions['onResult'];
  submittedAt: number;
  resolve: (probs: Float32Array) => void;
  reject: (err: EcgcadError) => void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
}

interface AssembledBatch {
  buffer: Float32Array;
  members: Request[];
  /** Batch dimension the session runs (members, or the fixed size the tensor is padded to). */
  runSize: number;
}

/** Batches model inputs for one session. */
export class DynamicBatcher {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly maxQueue: number;
  readonly whenFull: 'reject' | 'wait';
  readonly timeoutMs: number;

  private readonly session: ModelSession;
  private readonly inputSize: number;
  private readonly vessels: number;
  private readonly fixedBatch: number | undefined;
  private readonly emitter = new EventEmitter();
  /** Runs the session takes at once. */
  private readonly concurrency: number;
  /** Batch buffers not in use: one per run in flight plus one for the batch being assembled, in all. */
  private readonly freeBuffers: Float32Array[] = [];
  private queue: Request[] = [];
  private roomWaiters: (() => void)[] = [];
  private assembled: AssembledBatch | undefined;
  /** The batches the session is running (added before a run starts, removed as soon as it returns). */
  private readonly running = new Set<AssembledBatch>();
  private delayTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(session: ModelSession, options: DynamicBatcherOptions = {}) {
    const fixed = session.model.fixedBatchSize;
    this.session = session;
    this.fixedBatch = fixed;
    this.maxBatch = fixed ?? options.maxBatch ?? 16;
    this.maxDelayMs = options.maxDelayMs ?? 5;
    this.maxQueue = options.maxQueue ?? 1024;
    this.whenFull = options.whenFull ?? 'reject';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1)
      throw new RangeError('maxBatch must be a positive integer');
    if (options.maxBatch !== undefined && fixed !== undefined && options.maxBatch !== fixed) {
      throw new RangeError(`maxBatch ${options.maxBatch}: the model fixes the batch size at ${fixed}`);
    }
    this.inputSize = session.model.inputSize;
    this.vessels = session.model.card.outputs.vessels.length;
    this.concurrency = Math.max(1, session.concurrency);
    for (let i = 0; i <= this.concurrency; i++) this.freeBuffers.push(this.newBuffer());
  }

  /** Values one submitted input must have (leads x samples). */
  get inputLength(): number {
    return this.inputSize;
  }

  /** Requests waiting for a batch. */
  get queueDepth(): number {
    return this.queue.length;
  }

  on<E extends keyof DynamicBatcherEvents>(event: E, listener: DynamicBatcherEvents[E]): this {
    this.emitter.on(event, listener);
    return this;
  }

  off<E extends keyof DynamicBatcherEvents>(event: E, listener: DynamicBatcherEvents[E]): this {
    this.emitter.off(event, listener);
    return this;
  }

  /**
   * Queues one ECG's model input (a Float32Array of inputLength values in the card's layout, or an InputWriter)
   * and resolves with its probabilities, one per card vessel. Rejects with MalformedInputError for a wrong length
   * (at once) or a non-finite value (when its batch is assembled, where the check and the copy into the batch
   * tensor read the input once between them; the request is dropped from the batch), and with TransientError for
   * a full queue, a timeout, a closed batcher or a failed run.
   */
  async submit(input: Float32Array | InputWriter, options: SubmitOptions = {}): Promise<Float32Array> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    if (this.closed) throw new TransientError('batcher is closed');
    if (typeof input !== 'function') checkShape(input, this.inputSize);
    const submittedAt = performance.now();
    if (this.queue.length >= this.maxQueue) {
      if (this.whenFull === 'reject') {
        throw new TransientError(`batcher queue full (${this.queue.length} waiting)`);
      }
      await this.waitForRoom(submittedAt, timeoutMs);
    }
    return new Promise<Float32Array>((resolve, reject) => {
      const request: Request = {
        input,
        onResult: options.onResult,
        submittedAt,
        resolve,
        reject,
        timer: undefined,
        settled: false,
      };
      const remaining = timeoutMs - (performance.now() - submittedAt);
      request.timer = setTimeout(
        () => {
          this.fail(request, new TransientError(`inference request timed out after ${timeoutMs} ms`));
          this.removeFromQueue(request);
        },
        Math.max(0, remaining),
      );
      this.queue.push(request);
      this.schedule();
    });
  }

  /** Stops taking requests and resolves once every accepted request has settled. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.roomWaiters.splice(0)) wake();
    if (this.queue.length === 0 && !this.assembled && this.running.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private waitForRoom(submittedAt: number, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.roomWaiters = this.roomWaiters.filter((w) => w !== wake);
          reject(new TransientError(`inference request timed out after ${timeoutMs} ms waiting for queue room`));
        },
        Math.max(0, timeoutMs - (performance.now() - submittedAt)),
      );
      const wake = (): void => {
        clearTimeout(timer);
        if (this.closed) reject(new TransientError('batcher is closed'));
        else resolve();
      };
      this.roomWaiters.push(wake);
    });
  }

  private removeFromQueue(request: Request): void {
    const i = this.queue.indexOf(request);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.wakeRoom();
      this.schedule();
    }
  }

  private wakeRoom(): void {
    while (this.roomWaiters.length > 0 && this.queue.length < this.maxQueue) this.roomWaiters.shift()?.();
  }

  private fail(request: Request, err: EcgcadError): void {
    if (request.settled) return;
    request.settled = true;
    clearTimeout(request.timer);
    request.reject(err);
  }

  private succeed(request: Request, probs: Float32Array): void {
    if (request.settled) return;
    request.settled = true;
    clearTimeout(request.timer);
    request.resolve(probs);
  }

  /** Forms and dispatches batches; called on every submit, timer and completed run. */
  private schedule(): void {
    if (this.delayTimer) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    for (;;) {
      // While every instance is busy, assemble the next batch early only when it is full (a partial one could
      // still grow); with an instance free, a batch forms once its oldest request has waited maxDelayMs.
      if (!this.assembled && this.queue.length > 0) {
        const full = this.queue.length >= this.maxBatch;
        const idle = this.running.size < this.concurrency;
        const waited = performance.now() - (this.queue[0] as Request).submittedAt;
        if (full || (idle && waited >= this.maxDelayMs)) this.assembled = this.assemble();
      }
      if (!this.assembled || this.running.size >= this.concurrency) break;
      const batch = this.assembled;
      this.assembled = undefined;
      this.running.add(batch);
      void this.runBatch(batch);
    }
    if (!this.assembled && this.running.size < this.concurrency && this.queue.length > 0) {
      const waited = performance.now() - (this.queue[0] as Request).submittedAt;
      this.delayTimer = setTimeout(() => this.schedule(), Math.max(0, this.maxDelayMs - waited));
    }
    if (this.closed && this.queue.length === 0 && !this.assembled && this.running.size === 0) {
      for (const done of this.idleWaiters.splice(0)) done();
    }
  }

  private newBuffer(): Float32Array {
    return new Float32Array(this.maxBatch * this.inputSize);
  }

  /** Takes up to maxBatch live requests and writes their inputs into the free buffer. */
  private assemble(): AssembledBatch | undefined {
    // One buffer per run in flight plus this one: there is always a free one (see freeBuffers).
    const buffer = this.freeBuffers.pop() ?? this.newBuffer();
    const members: Request[] = [];
    while (members.length < this.maxBatch && this.queue.length > 0) {
      const request = this.queue.shift() as Request;
      if (request.settled) continue;
      const offset = members.length * this.inputSize;
      try {
        if (typeof request.input === 'function') {
          request.input(buffer, offset);
          checkInput(buffer.subarray(offset, offset + this.inputSize), this.inputSize);
        } else if (!copyIfFinite(request.input, buffer, offset)) {
          throw nonFinite(request.input);
        }
      } catch (err) {
        this.fail(request, asEcgcadError(err, 'preparing the model input failed'));
        continue;
      }
      members.push(request);
    }
    this.wakeRoom();
    if (members.length === 0) {
      this.freeBuffers.push(buffer);
      return undefined;
    }
    const runSize = this.fixedBatch ?? members.length;
    if (runSize > members.length) buffer.fill(0, members.length * this.inputSize, runSize * this.inputSize);
    return { buffer, members, runSize };
  }

  /** Calls each live member's onResult with its probabilities and its input in `buffer` (views). */
  private showResults(members: Request[], probs: Float32Array, buffer: Float32Array): void {
    members.forEach((member, k) => {
      if (!member.onResult || member.settled) return;
      try {
        member.onResult(
          probs.subarray(k * this.vessels, (k + 1) * this.vessels),
          buffer.subarray(k * this.inputSize, (k + 1) * this.inputSize),
        );
      } catch (err) {
        this.fail(member, asEcgcadError(err, 'handling the model output failed'));
      }
    });
  }

  /** Runs one batch; never rejects (a failed run fails its members). */
  private async runBatch(batch: AssembledBatch): Promise<void> {
    const started = performance.now();
    const maxWaitMs = Math.max(...batch.members.map((m) => started - m.submittedAt));
    let probs: Float32Array | undefined;
    let failure: EcgcadError | undefined;
    try {
      const result = await this.session.runBuffer(batch.buffer, batch.runSize);
      // Before the buffer is free again: the next batch is assembled into it as soon as schedule() runs.
      this.showResults(batch.members, result.probabilities, result.input);
      this.freeBuffers.push(result.input);
      probs = result.probabilities;
    } catch (err) {
      // A failed worker run may have detached the buffer: start that one afresh.
      this.freeBuffers.push(batch.buffer.length === 0 ? this.newBuffer() : batch.buffer);
      failure = asEcgcadError(err, 'inference run failed', true);
    }
    const runMs = performance.now() - started;
    // Start the next batch before settling this one: every settled caller's continuation (typically its next
    // submit, with its input check) would otherwise run first, leaving the session idle once per batch.
    this.running.delete(batch);
    this.schedule();
    if (probs) {
      // A loop, not forEach(closure): a closure made per call is optimised again after every full collection.
      const members = batch.members;
      for (let k = 0; k < members.length; k++) {
        this.succeed(members[k] as (typeof members)[number], probs.slice(k * this.vessels, (k + 1) * this.vessels));
      }
    } else {
      for (const member of batch.members) this.fail(member, failure as EcgcadError);
    }
    const ok = probs !== undefined;
    this.emitter.emit('batch', {
      size: batch.members.length,
      capacity: batch.runSize,
      runMs,
      maxWaitMs,
      queueDepth: this.queue.length,
      ok,
    } satisfies BatchEvent);
  }
}

/** Checks type and length; throws MalformedInputError. */
function checkShape(input: Float32Array, expected: number): void {
  if (!(input instanceof Float32Array)) {
    throw new MalformedInputError('model-input', 'model input must be a Float32Array');
  }
  if (input.length !== expected) {
    throw new MalformedInputError('model-input', `model input has ${input.length} values, expected ${expected}`);
  }
}

/** Checks length and finiteness; throws MalformedInputError. */
function checkInput(input: Float32Array, expected: number): void {
  checkShape(input, expected);
  if (!allFinite(input)) throw nonFinite(input);
}

/** The error for an input that holds NaN or infinity, naming the first such index. */
function nonFinite(input: Float32Array): MalformedInputError {
  const at = input.findIndex((v) => !Number.isFinite(v));
  return new MalformedInputError(
    'model-input',
    'model input holds a non-finite value (NaN or infinity)',
    `index ${at}`,
  );
}

function asEcgcadError(err: unknown, message: string, transient = false): EcgcadError {
  if (err instanceof EcgcadErrorClass) return err;
  const text = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return transient
    ? new TransientError(`${message}: ${text}`, { cause: err })
    : new MalformedInputError('model-input', `${message}: ${text}`, undefined, { cause: err });
}
