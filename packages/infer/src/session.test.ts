import { ConfigError, TransientError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { buildModelInMemory } from './demo/in-memory.js';
import type { InferLogger } from './logger.js';
import { forwardReference } from './net1d/reference.js';
import { syntheticModelInput } from './net1d/synthetic.js';
import { createSession, InstancePool, type ModelSession } from './session.js';

function recordingLogger(): InferLogger & {
  lines: { level: string; message: string; fields: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', message, fields }),
    warn: (fields, message) => lines.push({ level: 'warn', message, fields }),
  };
}

describe('createSession', () => {
  const { net, model } = buildModelInMemory();

  it('runs on the CPU by default and says so in one line', async () => {
    const logger = recordingLogger();
    const session = await createSession(model, { logger, intraOpNumThreads: 1 });
    expect(session.provider).toBe('cpu');
    expect(logger.lines).toEqual([
      { level: 'info', message: 'inference runs on cpu', fields: expect.objectContaining({ provider: 'cpu' }) },
    ]);
    const input = syntheticModelInput(1, 12, 5000);
    const probs = await session.run(input, 1);
    const ref = forwardReference(net, input).probabilities;
    probs.forEach((p, i) => {
      expect(p).toBeCloseTo(ref[i] as number, 5);
    });
    await session.release();
  });

  it('falls back from cuda (no provider libraries here) to cpu with one log line naming both', async () => {
    const logger = recordingLogger();
    const session = await createSession(model, { executionProviders: ['cuda', 'cpu'], logger });
    expect(session.provider).toBe('cpu');
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]?.level).toBe('warn');
    expect(logger.lines[0]?.message).toMatch(/^inference runs on cpu \(fell back; cuda: .+\)$/);
    expect(logger.lines[0]?.message).not.toContain('\n');
    await session.release();
  });

  it('takes webgpu where an adapter exists, and falls back to cpu where none does', async () => {
    const logger = recordingLogger();
    const session = await createSession(model, { executionProviders: ['webgpu', 'cpu'], logger });
    expect(['webgpu', 'cpu']).toContain(session.provider);
    expect(logger.lines).toHaveLength(1);
    if (session.provider === 'cpu') expect(logger.lines[0]?.message).toMatch(/fell back; webgpu: /);
    await session.release();
  });

  it('runs ONNX Runtime in a worker thread by default, keeping the event loop free; main-thread sessions agree', async () => {
    const worker = await createSession(model, { intraOpNumThreads: 1 });
    const main = await createSession(model, { intraOpNumThreads: 1, thread: 'main' });
    expect(worker.thread).toBe('worker');
    expect(main.thread).toBe('main');
    const batch = new Float32Array(32 * model.inputSize);
    for (let b = 0; b < 32; b++) batch.set(syntheticModelInput(b, 12, 5000), b * model.inputSize);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const fromWorker = await worker.run(batch, 32);
    const workerMs = performance.now() - t0;
    const workerTicks = ticks;
    clearInterval(timer);
    const fromMain = await main.run(batch, 32);
    expect(Array.from(fromWorker)).toEqual(Array.from(fromMain));
    // The input stays usable after run() (the worker session copied it).
    expect(batch.length).toBe(32 * model.inputSize);
    // Timers kept firing while the worker computed (a main-thread run would block them for its whole duration).
    if (workerMs > 20) expect(workerTicks).toBeGreaterThan(1);
    await worker.release();
    await main.release();
  });

  it('defaults intraOpNumThreads to the cores available', async () => {
    const { availableParallelism } = await import('node:os');
    const session = await createSession(model);
    expect(session.intraOpNumThreads).toBe(availableParallelism());
    await session.release();
  });

  it('refuses unknown providers and bad thread counts as configuration errors', async () => {
    // @ts-expect-error: deliberately unknown provider
    await expect(createSession(model, { executionProviders: ['tpu'] })).rejects.toBeInstanceOf(ConfigError);
    await expect(createSession(model, { intraOpNumThreads: 0 })).rejects.toThrow(/intraOpNumThreads/);
    await expect(createSession(model, { instances: 0 })).rejects.toThrow(/instances/);
    await expect(createSession(model, { instances: 2, thread: 'main' })).rejects.toBeInstanceOf(ConfigError);
  });

  it('opens instances that run side by side, each on its own thread, with the same results', async () => {
    const logger = recordingLogger();
    const pool = await createSession(model, { instances: 3, intraOpNumThreads: 1, logger });
    const single = await createSession(model, { intraOpNumThreads: 1 });
    expect(pool.concurrency).toBe(3);
    expect(single.concurrency).toBe(1);
    expect(logger.lines).toEqual([
      {
        level: 'info',
        message: 'inference runs on cpu, 3 instances',
        fields: expect.objectContaining({ instances: 3, intraOpNumThreads: 1 }),
      },
    ]);
    const inputs = Array.from({ length: 7 }, (_, i) => syntheticModelInput(20 + i, 12, 5000));
    // Seven runs at once on three instances: the surplus waits for a free one; each gets its own answer.
    const pooled = await Promise.all(inputs.map((input) => pool.run(input, 1)));
    for (const [i, input] of inputs.entries()) {
      const want = await single.run(input, 1);
      expect(Array.from(pooled[i] as Float32Array)).toEqual(Array.from(want));
    }
    await pool.release();
    await single.release();
  });

  it('says it is no longer alive once its worker thread is gone', async () => {
    const session = await createSession(model, { intraOpNumThreads: 1 });
    expect(session.alive).toBe(true);
    await session.release();
    expect(session.alive).toBe(false);
    await expect(session.run(syntheticModelInput(4, 12, 5000), 1)).rejects.toThrow(/exited/);
  });

  it('drops an instance whose worker died, and fails runs once none is left', async () => {
    const live = await createSession(model, { intraOpNumThreads: 1 });
    // An instance whose worker died: it says so, and each run on it fails at once.
    let deadRuns = 0;
    const dead: ModelSession = {
      ...live,
      alive: false,
      concurrency: 1,
      run: async () => {
        deadRuns++;
        throw new Error('inference worker exited with code 1');
      },
      runBuffer: async () => {
        deadRuns++;
        throw new Error('inference worker exited with code 1');
      },
      release: async () => undefined,
    };
    const pool = new InstancePool([dead, live]);
    expect(pool.alive).toBe(true);
    const input = syntheticModelInput(3, 12, 5000);
    const results = await Promise.all(Array.from({ length: 6 }, () => pool.run(input, 1)));
    expect(deadRuns).toBe(0);
    expect(new Set(results.map((r) => r.join(','))).size).toBe(1);
    const gone = new InstancePool([dead, { ...dead }]);
    expect(gone.alive).toBe(false);
    await expect(gone.run(input, 1)).rejects.toBeInstanceOf(TransientError);
    await live.release();
  });

  it('divides the default threads among the instances', async () => {
    const { availableParallelism } = await import('node:os');
    const pool = await createSession(model, { instances: 2 });
    expect(pool.intraOpNumThreads).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
    await pool.release();
  });

  it('reports a configuration error when no listed provider can run', async () => {
    const err = await createSession(model, { executionProviders: ['cuda'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatch(/none of cuda could run the model/);
  });
});

describe('worker sessions after release', () => {
  it('fail at once instead of hanging', async () => {
    const { model } = buildModelInMemory({ calibrationExamples: 0 });
    const session = await createSession(model, { intraOpNumThreads: 1 });
    await session.release();
    await expect(session.run(new Float32Array(model.inputSize), 1)).rejects.toThrow(/exited|terminated/);
  });
});
