/**
 * ONNX Runtime sessions for a loaded model: execution providers are tried in the configured order, and the first
 * one that loads the model and runs a warm-up batch wins. One log line says which provider runs and why others
 * were skipped.
 */
import { availableParallelism } from 'node:os';
import { ConfigError, TransientError } from '@ecgcad/ecg';
import * as ort from 'onnxruntime-node';
import { InvalidModelError } from './errors.js';
import { type InferLogger, silentLogger } from './logger.js';
import type { LoadedModel } from './model-folder.js';
import { OrtWorker } from './session-worker.js';

/** Execution providers the engine knows: `cpu` (always there), `webgpu` (Vulkan on NVIDIA), `cuda` (site-installed libraries). */
export type ExecutionProviderName = 'cpu' | 'webgpu' | 'cuda';

export const EXECUTION_PROVIDERS: readonly ExecutionProviderName[] = ['cpu', 'webgpu', 'cuda'];

/** Options for createSession(). */
export interface SessionOptions {
  /** Providers to try, in order. Default ['cpu']. */
  executionProviders?: ExecutionProviderName[];
  /**
   * Threads for one operator, per instance; default os.availableParallelism() (the cores given to this worker)
   * divided among the instances.
   */
  intraOpNumThreads?: number;
  /**
   * Independent sessions of the model, each on its own worker thread, that run batches side by side. Default 1.
   * For a small model, N single-threaded instances outrun one session with N threads (their threads never wait
   * for each other inside an operator; docs/PERFORMANCE.md); each instance holds its own copy of the weights.
   * Needs `thread: 'worker'`.
   */
  instances?: number;
  /**
   * Let ONNX Runtime's intra-op threads spin while waiting for work. Default false: the worker's JS thread shares
   * the cores (prepare(), batching), and spinning threads starve it; set true on a machine with cores to spare.
   */
  intraOpSpinning?: boolean;
  /**
   * Run ONNX Runtime in a worker thread (default) or on the calling thread. onnxruntime-node runs a session
   * synchronously on the thread that calls run(), so on the main thread every batch blocks the event loop.
   */
  thread?: 'worker' | 'main';
  /** ONNX Runtime graph optimisation. Default 'all'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Run one batch of zeros after loading, so a provider that loads but cannot run falls back too. Default true. */
  warmup?: boolean;
  logger?: InferLogger;
}

/** A model bound to one ONNX Runtime session. */
export interface ModelSession {
  readonly model: LoadedModel;
  /** The provider that runs this session. */
  readonly provider: ExecutionProviderName;
  readonly intraOpNumThreads: number;
  /** Where ONNX Runtime runs: a worker thread (default) or the calling thread. */
  readonly thread: 'worker' | 'main';
  /** Runs that may be in flight at once (the instances); a further run waits for one to finish. */
  readonly concurrency: number;
  /**
   * False once the session can no longer run: its worker thread died (for instances: every instance's did). The
   * infer worker's readiness check reports it.
   */
  readonly alive: boolean;
  /**
   * Runs `batchSize` ECGs laid out back to back in `input` (batchSize x model.inputSize values, the card's layout)
   * and returns batchSize x vessels probabilities. `input` stays untouched (a worker session copies it).
   */
  run(input: Float32Array, batchSize: number): Promise<Float32Array>;
  /**
   * Like run(), but may take `input`'s memory (a worker session transfers the buffer to its thread, detaching it
   * here) and hands back a usable batch buffer of the same size as `input`: use that one from then on.
   */
  runBuffer(input: Float32Array, batchSize: number): Promise<{ probabilities: Float32Array; input: Float32Array }>;
  release(): Promise<void>;
}

function inputDims(model: LoadedModel, batchSize: number): number[] {
  const { input } = model.card;
  return input.layout === 'NCL'
    ? [batchSize, input.leads.length, input.samples]
    : [batchSize, input.samples, input.leads.length];
}

function checkRun(model: LoadedModel, input: Float32Array, batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1 || input.length < batchSize * model.inputSize) {
    throw new RangeError(
      `batch buffer holds ${input.length} values, ${batchSize} ECGs need ${batchSize * model.inputSize}`,
    );
  }
}

function checkOutput(model: LoadedModel, probs: Float32Array, batchSize: number): Float32Array {
  const expected = batchSize * model.card.outputs.vessels.length;
  if (probs.length !== expected) {
    throw new InvalidModelError(
      'outputs.vessels',
      `outputs.vessels: the model returned ${probs.length} values for ${expected} expected`,
    );
  }
  return probs;
}

/** ONNX Runtime on the calling thread: each run blocks the event loop while it computes. */
class MainThreadSession implements ModelSession {
  readonly thread = 'main';
  readonly concurrency = 1;
  readonly alive = true;
  constructor(
    readonly model: LoadedModel,
    readonly provider: ExecutionProviderName,
    readonly intraOpNumThreads: number,
    private readonly session: ort.InferenceSession,
  ) {}

  async run(input: Float32Array, batchSize: number): Promise<Float32Array> {
    checkRun(this.model, input, batchSize);
    const { card, inputSize } = this.model;
    const data = input.length === batchSize * inputSize ? input : input.subarray(0, batchSize * inputSize);
    const feeds = { [card.input.name]: new ort.Tensor('float32', data, inputDims(this.model, batchSize)) };
    const results = await this.session.run(feeds, [card.outputs.name]);
    const output = results[card.outputs.name];
    if (output?.type !== 'float32') {
      throw new InvalidModelError(
        'outputs.name',
        `outputs.name: the session returned no float32 "${card.outputs.name}"`,
      );
    }
    return checkOutput(this.model, output.data as Float32Array, batchSize);
  }

  async runBuffer(
    input: Float32Array,
    batchSize: number,
  ): Promise<{ probabilities: Float32Array; input: Float32Array }> {
    return { probabilities: await this.run(input, batchSize), input };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** ONNX Runtime in a worker thread: the event loop stays free while a batch computes. */
class WorkerThreadSession implements ModelSession {
  readonly thread = 'worker';
  readonly concurrency = 1;
  constructor(
    readonly model: LoadedModel,
    readonly provider: ExecutionProviderName,
    readonly intraOpNumThreads: number,
    private readonly worker: OrtWorker,
  ) {}

  get alive(): boolean {
    return this.worker.alive;
  }

  async run(input: Float32Array, batchSize: number): Promise<Float32Array> {
    checkRun(this.model, input, batchSize);
    return (await this.runBuffer(input.slice(0, batchSize * this.model.inputSize), batchSize)).probabilities;
  }

  async runBuffer(
    input: Float32Array,
    batchSize: number,
  ): Promise<{ probabilities: Float32Array; input: Float32Array }> {
    checkRun(this.model, input, batchSize);
    // Only a whole ArrayBuffer can be transferred; a view into a larger one is copied first.
    const own =
      input.byteOffset === 0 && input.buffer.byteLength === input.byteLength && input.buffer instanceof ArrayBuffer;
    const source = own ? input : input.slice();
    const { card, inputSize } = this.model;
    const result = await this.worker.run(
      source.buffer as ArrayBuffer,
      batchSize * inputSize,
      inputDims(this.model, batchSize),
      card.input.name,
      card.outputs.name,
    );
    const back = new Float32Array(result.buffer);
    if (result.error !== undefined || !result.probs) {
      throw new TransientError(`inference run failed: ${(result.error ?? 'no output').split('\n')[0]}`);
    }
    return { probabilities: checkOutput(this.model, result.probs, batchSize), input: back };
  }

  release(): Promise<void> {
    return this.worker.terminate();
  }
}

/**
 * Instances of one model (createSession's `instances`) behind one ModelSession: each run goes to an idle instance,
 * or waits for one. An instance whose worker thread died is dropped, so it cannot take run after run only to fail
 * each at once; once none is left, runs fail with a TransientError.
 */
export class InstancePool implements ModelSession {
  readonly thread = 'worker';
  readonly model: LoadedModel;
  readonly provider: ExecutionProviderName;
  readonly intraOpNumThreads: number;
  readonly concurrency: number;
  private readonly idle: ModelSession[];
  private readonly waiting: { resolve: (instance: ModelSession) => void; reject: (err: Error) => void }[] = [];

  constructor(private readonly instances: readonly ModelSession[]) {
    const first = instances[0];
    if (!first) throw new RangeError('an instance pool needs at least one session');
    this.model = first.model;
    this.provider = first.provider;
    this.intraOpNumThreads = first.intraOpNumThreads;
    this.concurrency = instances.length;
    this.idle = [...instances];
  }

  get alive(): boolean {
    return this.instances.some((instance) => instance.alive);
  }

  run(input: Float32Array, batchSize: number): Promise<Float32Array> {
    return this.withInstance((instance) => instance.run(input, batchSize));
  }

  runBuffer(input: Float32Array, batchSize: number): Promise<{ probabilities: Float32Array; input: Float32Array }> {
    return this.withInstance((instance) => instance.runBuffer(input, batchSize));
  }

  async release(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.release()));
  }

  private async withInstance<T>(work: (instance: ModelSession) => Promise<T>): Promise<T> {
    const instance = await this.acquire();
    try {
      return await work(instance);
    } finally {
      this.giveBack(instance);
    }
  }

  private acquire(): Promise<ModelSession> {
    let instance = this.idle.shift();
    while (instance && !instance.alive) instance = this.idle.shift();
    if (instance) return Promise.resolve(instance);
    if (!this.alive) return Promise.reject(this.stopped());
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private giveBack(instance: ModelSession): void {
    if (instance.alive) {
      const next = this.waiting.shift();
      if (next) next.resolve(instance);
      else this.idle.push(instance);
    } else if (!this.alive) {
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.stopped());
    }
  }

  private stopped(): TransientError {
    return new TransientError(`all ${this.instances.length} inference instances have stopped`);
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // ONNX Runtime messages carry source paths and native log noise; the first line says what failed.
  return (text.split('\n')[0] ?? text).slice(0, 300);
}

/**
 * Creates a session, trying `executionProviders` in order. Logs exactly one line: the provider that runs,
 * plus the providers skipped with their reason. Throws ConfigError for an unknown provider or when none works
 * (InvalidModelError when even the CPU provider could not load or run the model). With `instances` above 1, the
 * first instance picks the provider and the others are opened on it; the one log line counts them.
 */
export async function createSession(model: LoadedModel, options: SessionOptions = {}): Promise<ModelSession> {
  const instances = options.instances ?? 1;
  if (!Number.isInteger(instances) || instances < 1) {
    throw new ConfigError([`instances: expected a positive integer, got ${instances}`]);
  }
  if (instances > 1 && options.thread === 'main') {
    throw new ConfigError([
      'instances: more than one instance needs thread "worker" (runs on the main thread block it)',
    ]);
  }
  const threads = options.intraOpNumThreads ?? Math.max(1, Math.floor(availableParallelism() / instances));
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ConfigError([`intraOpNumThreads: expected a positive integer, got ${threads}`]);
  }
  // The first instance picks the provider and says so in the one log line; the others open quietly on it.
  const first = await createOneSession(model, { ...options, intraOpNumThreads: threads }, instances);
  if (instances === 1) return first;
  const opened: ModelSession[] = [first];
  try {
    for (let i = 1; i < instances; i++) {
      opened.push(
        await createOneSession(
          model,
          { ...options, intraOpNumThreads: threads, executionProviders: [first.provider], logger: silentLogger },
          instances,
        ),
      );
    }
  } catch (err) {
    await Promise.all(opened.map((s) => s.release().catch(() => undefined)));
    throw err;
  }
  return new InstancePool(opened);
}

async function createOneSession(
  model: LoadedModel,
  options: SessionOptions & { intraOpNumThreads: number },
  instances: number,
): Promise<ModelSession> {
  const providers = options.executionProviders?.length ? options.executionProviders : (['cpu'] as const);
  for (const p of providers) {
    if (!EXECUTION_PROVIDERS.includes(p)) {
      throw new ConfigError([`executionProviders: unknown provider "${p}" (known: ${EXECUTION_PROVIDERS.join(', ')})`]);
    }
  }
  const threads = options.intraOpNumThreads;
  const logger = options.logger ?? silentLogger;
  const thread = options.thread ?? 'worker';
  const skipped: { provider: ExecutionProviderName; reason: string }[] = [];
  let cpuError: unknown;
  const worker = thread === 'worker' ? new OrtWorker() : undefined;
  for (const provider of providers) {
    const ortOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      intraOpNumThreads: threads,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: options.intraOpSpinning ? '1' : '0' } } },
    };
    let candidate: ModelSession | undefined;
    try {
      if (worker) {
        await worker.create(model.bytes, ortOptions as Record<string, unknown>);
        candidate = new WorkerThreadSession(model, provider, threads, worker);
      } else {
        candidate = new MainThreadSession(
          model,
          provider,
          threads,
          await ort.InferenceSession.create(model.bytes, ortOptions),
        );
      }
      if (options.warmup ?? true) {
        const batch = model.fixedBatchSize ?? 1;
        await candidate.run(new Float32Array(batch * model.inputSize), batch);
      }
      const fields = {
        provider,
        intraOpNumThreads: threads,
        instances,
        thread,
        model: model.ref.id,
        version: model.ref.version,
      };
      const where = instances > 1 ? `${provider}, ${instances} instances` : provider;
      if (skipped.length === 0) {
        logger.info(fields, `inference runs on ${where}`);
      } else {
        const why = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
        logger.warn({ ...fields, skipped }, `inference runs on ${where} (fell back; ${why})`);
      }
      return candidate;
    } catch (err) {
      if (!worker) await candidate?.release().catch(() => undefined);
      if (err instanceof InvalidModelError) {
        await worker?.terminate();
        throw err;
      }
      if (provider === 'cpu') cpuError = err;
      skipped.push({ provider, reason: firstLine(err) });
    }
  }
  await worker?.terminate();
  const detail = skipped.map((s) => `${s.provider}: ${s.reason}`);
  if (cpuError !== undefined) {
    throw new InvalidModelError('model.onnx', [`the CPU provider could not run the model`, ...detail], {
      cause: cpuError,
    });
  }
  throw new ConfigError([`executionProviders: none of ${providers.join(', ')} could run the model`, ...detail]);
}
