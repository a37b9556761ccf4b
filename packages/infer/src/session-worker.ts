/**
 * ONNX Runtime in a worker thread. onnxruntime-node's InferenceSession.run() executes synchronously on the calling
 * thread (its promise only defers the call with setImmediate), so a session on the main thread blocks the event loop
 * for every batch: no batch assembly, prepare(), queue lock renewal or health check can happen meanwhile. Here the
 * session lives in a worker; batch buffers move to it and back by transfer (no copies).
 *
 * The worker is plain CommonJS JavaScript evaluated from a string, so it runs the same from TypeScript sources
 * (tests), built dist and bundles.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'create') {
      // A session that loaded but failed its warm-up (the caller then tries the next provider) is released first.
      if (session) await session.release().catch(() => undefined);
      session = undefined;
      session = await ort.InferenceSession.create(new Uint8Array(msg.bytes), msg.options);
      parentPort.postMessage({ type: 'created', id: msg.id });
    } else if (msg.type === 'run') {
      const data = new Float32Array(msg.buffer, 0, msg.length);
      let probs;
      let error;
      try {
        const results = await session.run({ [msg.inputName]: new ort.Tensor('float32', data, msg.dims) }, [msg.outputName]);
        const out = results[msg.outputName];
        if (!out || out.type !== 'float32') throw new Error('the session returned no float32 ' + msg.outputName);
        probs = Float32Array.from(out.data);
      } catch (e) {
        error = String(e && e.message ? e.message : e);
      }
      const transfer = [msg.buffer];
      if (probs) transfer.push(probs.buffer);
      parentPort.postMessage({ type: 'ran', id: msg.id, probs, error, buffer: msg.buffer }, transfer);
    } else if (msg.type === 'release') {
      if (session) await session.release();
      session = undefined;
      parentPort.postMessage({ type: 'released', id: msg.id });
    }
  } catch (e) {
    parentPort.postMessage({ type: 'error', id: msg.id, error: String(e && e.message ? e.message : e) });
  }
});
`;

interface Reply {
  type: string;
  id: number;
  error?: string;
  probs?: Float32Array;
  buffer?: ArrayBuffer;
}

/** A worker thread holding at most one ONNX Runtime session. */
export class OrtWorker {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  /** Set once the worker has died or been terminated: later calls fail at once instead of waiting forever. */
  private exitReason: Error | undefined;

  constructor() {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath } });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      waiter.resolve(reply);
    });
    const failAll = (err: Error): void => {
      this.exitReason ??= err;
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', (code) => failAll(new Error(`inference worker exited with code ${code}`)));
  }

  /** False once the worker thread has died or been terminated: every later call fails at once. */
  get alive(): boolean {
    return this.exitReason === undefined;
  }

  private call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const id = this.nextId++;
    if (this.exitReason) return Promise.reject(this.exitReason);
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...message, id }, transfer);
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    });
  }

  /** Creates the session in the worker; throws Error with ONNX Runtime's message when it cannot. */
  async create(bytes: Uint8Array, options: Record<string, unknown>): Promise<void> {
    // A copy with its own ArrayBuffer (Buffer.slice() would share memory, and the transfer would detach it).
    const copy = new Uint8Array(bytes).buffer;
    const reply = await this.call({ type: 'create', bytes: copy, options }, [copy]);
    if (reply.type !== 'created') throw new Error(reply.error ?? 'session creation failed');
  }

  /**
   * Runs the first `length` values of `buffer` with shape `dims`. The buffer is transferred to the worker (detached
   * here) and comes back in the result; use the returned one.
   */
  async run(
    buffer: ArrayBuffer,
    length: number,
    dims: number[],
    inputName: string,
    outputName: string,
  ): Promise<{ probs: Float32Array | undefined; error: string | undefined; buffer: ArrayBuffer }> {
    const reply = await this.call({ type: 'run', buffer, length, dims, inputName, outputName }, [buffer]);
    if (reply.type !== 'ran' || !reply.buffer) throw new Error(reply.error ?? 'inference worker failed');
    return { probs: reply.probs, error: reply.error, buffer: reply.buffer };
  }

  /** Releases the session and stops the worker. */
  async terminate(): Promise<void> {
    await this.call({ type: 'release' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
