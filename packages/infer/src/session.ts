/**
 * ONNX Runtime sessions for a loaded model: execution providers are tried in the configured order, and the first
 * one that loads the model and runs a warm-up batch wins. One log line says which provider runs and why others
 * were skipped.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '@ecgcad/ecg';
import * as ort from 'onnxruntime-node';
import { InvalidModelError } from './errors.js';
import { type InferLogger, silentLogger } from './logger.js';
import type { LoadedModel } from './model-folder.js';

/** Execution providers the engine knows: `cpu` (always there), `webgpu` (Vulkan on NVIDIA), `cuda` (site-installed libraries). */
export type ExecutionProviderName = 'cpu' | 'webgpu' | 'cuda';

export const EXECUTION_PROVIDERS: readonly ExecutionProviderName[] = ['cpu', 'webgpu', 'cuda'];

/** Options for createSession(). */
export interface SessionOptions {
  /** Providers to try, in order. Default ['cpu']. */
  executionProviders?: ExecutionProviderName[];
  /** Threads for one operator; default os.availableParallelism() (the cores given to this worker). */
  intraOpNumThreads?: number;
  /**
   * Let ONNX Runtime's intra-op threads spin while waiting for work. Default false: the worker's JS thread shares
   * the cores (prepare(), batching), and spinning threads starve it; set true on a machine with cores to spare.
   */
  intraOpSpinning?: boolean;
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
  /**
   * Runs `batchSize` ECGs laid out back to back in `input` (batchSize x model.inputSize values, the card's layout).
   * Returns batchSize x vessels probabilities. Callers must not start a second run before the first settles.
   */
  run(input: Float32Array, batchSize: number): Promise<Float32Array>;
  release(): Promise<void>;
}

class OrtModelSession implements ModelSession {
  constructor(
    readonly model: LoadedModel,
    readonly provider: ExecutionProviderName,
    readonly intraOpNumThreads: number,
    private readonly session: ort.InferenceSession,
  ) {}

  async run(input: Float32Array, batchSize: number): Promise<Float32Array> {
    const { card, inputSize } = this.model;
    if (input.length < batchSize * inputSize) {
      throw new RangeError(
        `batch buffer holds ${input.length} values, ${batchSize} ECGs need ${batchSize * inputSize}`,
      );
    }
    const data = input.length === batchSize * inputSize ? input : input.subarray(0, batchSize * inputSize);
    const dims =
      card.input.layout === 'NCL'
        ? [batchSize, card.input.leads.length, card.input.samples]
        : [batchSize, card.input.samples, card.input.leads.length];
    const feeds = { [card.input.name]: new ort.Tensor('float32', data, dims) };
    const results = await this.session.run(feeds, [card.outputs.name]);
    const output = results[card.outputs.name];
    if (output?.type !== 'float32') {
      throw new InvalidModelError(
        'outputs.name',
        `outputs.name: the session returned no float32 "${card.outputs.name}"`,
      );
    }
    const expected = batchSize * card.outputs.vessels.length;
    const probs = output.data as Float32Array;
    if (probs.length !== expected) {
      throw new InvalidModelError(
        'outputs.vessels',
        `outputs.vessels: the model returned ${probs.length} values for ${expected} expected`,
      );
    }
    return probs;
  }

  release(): Promise<void> {
    return this.session.release();
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
 * (InvalidModelError when even the CPU provider could not load or run the model).
 */
export async function createSession(model: LoadedModel, options: SessionOptions = {}): Promise<ModelSession> {
  const providers = options.executionProviders?.length ? options.executionProviders : (['cpu'] as const);
  for (const p of providers) {
    if (!EXECUTION_PROVIDERS.includes(p)) {
      throw new ConfigError([`executionProviders: unknown provider "${p}" (known: ${EXECUTION_PROVIDERS.join(', ')})`]);
    }
  }
  const threads = options.intraOpNumThreads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ConfigError([`intraOpNumThreads: expected a positive integer, got ${threads}`]);
  }
  const logger = options.logger ?? silentLogger;
  const skipped: { provider: ExecutionProviderName; reason: string }[] = [];
  let cpuError: unknown;
  for (const provider of providers) {
    let session: ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(model.bytes, {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
        logSeverityLevel: 3,
        extra: { session: { intra_op: { allow_spinning: options.intraOpSpinning ? '1' : '0' } } },
      });
      const candidate = new OrtModelSession(model, provider, threads, session);
      if (options.warmup ?? true) {
        const batch = model.fixedBatchSize ?? 1;
        await candidate.run(new Float32Array(batch * model.inputSize), batch);
      }
      const fields = { provider, intraOpNumThreads: threads, model: model.ref.id, version: model.ref.version };
      if (skipped.length === 0) {
        logger.info(fields, `inference runs on ${provider}`);
      } else {
        const why = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
        logger.warn({ ...fields, skipped }, `inference runs on ${provider} (fell back; ${why})`);
      }
      return candidate;
    } catch (err) {
      await session?.release().catch(() => undefined);
      if (err instanceof InvalidModelError) throw err;
      if (provider === 'cpu') cpuError = err;
      skipped.push({ provider, reason: firstLine(err) });
    }
  }
  const detail = skipped.map((s) => `${s.provider}: ${s.reason}`);
  if (cpuError !== undefined) {
    throw new InvalidModelError('model.onnx', [`the CPU provider could not run the model`, ...detail], {
      cause: cpuError,
    });
  }
  throw new ConfigError([`executionProviders: none of ${providers.join(', ')} could run the model`, ...detail]);
}
