import { MalformedInputError, NotAnalysableError, TransientError } from '@ecgcad/ecg';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchEvent, DynamicBatcher } from './batcher.js';
import { buildModelInMemory } from './demo/in-memory.js';
import { checkModel, sha256Hex } from './model-folder.js';
import { randomModelInput } from './net1d/synthetic.js';
import { createSession, type ModelSession } from './session.js';

const { onnx } = onnxProto;
const { model } = buildModelInMemory({ calibrationExamples: 4 });
const SIZE = model.inputSize;
let session: ModelSession;

beforeAll(async () => {
  session = await createSession(model, { intraOpNumThreads: 2 });
});
afterAll(async () => {
  await session.release();
});

/** The same session, slowed down: every run first waits `ms` (to fill queues and hit timeouts on purpose). */
function slowed(inner: ModelSession, ms: number): ModelSession {
  return {
    model: inner.model,
    provider: inner.provider,
    intraOpNumThreads: inner.intraOpNumThreads,
    thread: inner.thread,
    concurrency: inner.concurrency,
    alive: inner.alive,
    run: async (input, n) => {
      await new Promise((r) => setTimeout(r, ms));
      return inner.run(input, n);
    },
    runBuffer: async (input, n) => {
      await new Promise((r) => setTimeout(r, ms));
      return inner.runBuffer(input, n);
    },
    release: () => inner.release(),
  };
}

async function unbatched(input: Float32Array): Promise<Float32Array> {
  return (await session.run(input, 1)).slice();
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs((actual[i] as number) - (expected[i] as number))).toBeLessThanOrEqual(
      1e-6 * Math.abs(expected[i] as number) + 1e-7,
    );
  }
}

describe('DynamicBatcher', () => {
  it('64 concurrent callers with mixed valid and invalid inputs each get their own answer', async () => {
    const batcher = new DynamicBatcher(session, { maxBatch: 8, maxDelayMs: 5, timeoutMs: 20_000 });
    const events: BatchEvent[] = [];
    batcher.on('batch', (e) => events.push(e));
    type Case = { kind: string; input: Float32Array | ((b: Float32Array, o: number) => void); expected?: Float32Array };
    const cases: Case[] = [];
    for (let i = 0; i < 64; i++) {
      const good = randomModelInput(1000 + i, 12, 5000);
      switch (i % 8) {
        case 3:
          cases.push({ kind: 'short', input: good.subarray(0, SIZE - 1) });
          break;
        case 5: {
          const bad = good.slice();
          bad[(i * 997) % SIZE] = i % 2 ? Number.NaN : Number.POSITIVE_INFINITY;
          cases.push({ kind: 'non-finite', input: bad });
          break;
        }
        case 6:
          cases.push({
            kind: 'writer-throws',
            input: () => {
              throw new NotAnalysableError(['lead V3 is flat']);
            },
          });
          break;
        case 7:
          // A writer (like prepare) that fills its slot in the batch tensor directly.
          cases.push({ kind: 'writer', input: (b, o) => b.set(good, o), expected: await unbatched(good) });
          break;
        default:
          cases.push({ kind: 'valid', input: good, expected: await unbatched(good) });
      }
    }
    const started = performance.now();
    const outcomes = await Promise.allSettled(cases.map((c) => batcher.submit(c.input)));
    const elapsed = performance.now() - started;
    outcomes.forEach((outcome, i) => {
      const c = cases[i] as Case;
      if (c.expected) {
        expect(outcome.status, `${c.kind} #${i}`).toBe('fulfilled');
        expectClose((outcome as PromiseFulfilledResult<Float32Array>).value, c.expected);
      } else {
        expect(outcome.status, `${c.kind} #${i}`).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason;
        if (c.kind === 'writer-throws') expect(reason).toBeInstanceOf(NotAnalysableError);
        else expect(reason).toBeInstanceOf(MalformedInputError);
        if (c.kind === 'short') expect(reason.message).toMatch(/59999 values, expected 60000/);
        if (c.kind === 'non-finite') expect(reason.message).toMatch(/non-finite/);
      }
    });
    expect(elapsed).toBeLessThan(20_000);
    const scored = cases.filter((c) => c.expected).length;
    expect(events.reduce((n, e) => n + e.size, 0)).toBe(scored);
    expect(events.every((e) => e.size <= 8 && e.ok)).toBe(true);
    // They were batched, not run one by one.
    expect(Math.max(...events.map((e) => e.size))).toBeGreaterThan(1);
    await batcher.close();
  });

  it('refuses a non-finite value wherever it sits (each of the four sums, the tail), taking only finite inputs', async () => {
    const batcher = new DynamicBatcher(session, { maxBatch: 4, maxDelayMs: 1 });
    const base = randomModelInput(7, 1, SIZE);
    // SIZE is a multiple of 4; a batcher for inputs one shorter puts the last value in the loop's tail (its inputs
    // are all refused before any run, so its session is never called).
    const odd = new DynamicBatcher({ ...session, model: { ...session.model, inputSize: SIZE - 1 } } as ModelSession, {
      maxBatch: 1,
    });
    const positions = [0, 1, 2, 3, 4, 5, 6, 7, SIZE - 4, SIZE - 3, SIZE - 2, SIZE - 1];
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const at of positions) {
        const bad = base.slice();
        bad[at] = value;
        await expect(batcher.submit(bad)).rejects.toMatchObject({ code: 'MALFORMED', where: `index ${at}` });
      }
      const tail = base.slice(0, SIZE - 1);
      tail[SIZE - 2] = value;
      await expect(odd.submit(tail)).rejects.toMatchObject({ code: 'MALFORMED', where: `index ${SIZE - 2}` });
    }
    // The largest finite float32 and subnormals are finite.
    const edge = base.slice();
    edge[0] = 3.4028234663852886e38;
    edge[1] = -3.4028234663852886e38;
    edge[2] = 1e-45;
    await expect(batcher.submit(edge)).resolves.toHaveLength(session.model.card.outputs.vessels.length);
    await batcher.close();
    await odd.close();
  });

  it('no caller waits past its timeout, and late requests fail with a TransientError', async () => {
    const batcher = new DynamicBatcher(slowed(session, 300), { maxBatch: 2, maxDelayMs: 1, timeoutMs: 400 });
    const input = randomModelInput(5, 12, 5000);
    const timings = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const t0 = performance.now();
        const outcome = await batcher.submit(input).then(
          () => 'ok',
          (e: unknown) => e,
        );
        return { outcome, ms: performance.now() - t0 };
      }),
    );
    for (const t of timings) expect(t.ms).toBeLessThan(400 + 100);
    expect(timings.filter((t) => t.outcome === 'ok').length).toBeGreaterThanOrEqual(2);
    const late = timings.filter((t) => t.outcome !== 'ok');
    expect(late.length).toBeGreaterThan(0);
    for (const t of late) {
      expect(t.outcome).toBeInstanceOf(TransientError);
      expect((t.outcome as Error).message).toMatch(/timed out after 400 ms/);
    }
    await batcher.close();
  });

  it('takes a per-request timeout that overrides the default', async () => {
    const batcher = new DynamicBatcher(slowed(session, 300), { maxBatch: 1, maxDelayMs: 0, timeoutMs: 10_000 });
    const input = randomModelInput(9, 12, 5000);
    const t0 = performance.now();
    const [patient, hurried] = await Promise.allSettled([
      batcher.submit(input),
      batcher.submit(input, { timeoutMs: 50 }),
    ]);
    expect(patient.status).toBe('fulfilled');
    expect(hurried.status).toBe('rejected');
    expect((hurried as PromiseRejectedResult).reason.message).toMatch(/timed out after 50 ms/);
    expect(performance.now() - t0).toBeLessThan(2_000);
    await batcher.close();
  });

  it("rejects with 'queue full' once maxQueue requests wait (whenFull: reject)", async () => {
    const batcher = new DynamicBatcher(slowed(session, 100), { maxBatch: 2, maxQueue: 4, maxDelayMs: 0 });
    const input = randomModelInput(6, 12, 5000);
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => batcher.submit(input)));
    const rejected = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(TransientError);
      expect(r.reason.message).toMatch(/queue full/);
    }
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThanOrEqual(4);
    await batcher.close();
  });

  it('waits for room instead (whenFull: wait), and every request completes', async () => {
    const batcher = new DynamicBatcher(slowed(session, 20), { maxBatch: 2, maxQueue: 2, whenFull: 'wait' });
    const input = randomModelInput(7, 12, 5000);
    const expected = await unbatched(input);
    const results = await Promise.all(Array.from({ length: 12 }, () => batcher.submit(input)));
    for (const r of results) expectClose(r, expected);
    await batcher.close();
  });

  it('starts the next waiting batch before it settles the callers of the one that finished', async () => {
    let runsStarted = 0;
    const counting: ModelSession = {
      ...slowed(session, 0),
      runBuffer: (input, n) => {
        runsStarted++;
        return session.runBuffer(input, n);
      },
    };
    const batcher = new DynamicBatcher(counting, { maxBatch: 4, maxDelayMs: 1_000 });
    const inputs = Array.from({ length: 8 }, (_, i) => randomModelInput(40 + i, 12, 5000));
    // Four fill the first batch (it starts at once); four more fill the second, which waits for the session.
    const seen = await Promise.all(inputs.map((input) => batcher.submit(input).then(() => runsStarted)));
    expect(seen.slice(0, 4)).toEqual([2, 2, 2, 2]);
    expect(seen.slice(4)).toEqual([2, 2, 2, 2]);
    await batcher.close();
  });

  it('shows each caller its probabilities and its own input before the tensor takes the next batch', async () => {
    const batcher = new DynamicBatcher(session, { maxBatch: 4, maxDelayMs: 1_000 });
    // Eight requests: the second batch is assembled into a free buffer while the first runs, and the first's buffer
    // is free again for a third batch as soon as its run returns, so a late look would see other inputs.
    const inputs = Array.from({ length: 12 }, (_, i) => randomModelInput(140 + i, 12, 5000));
    const seen: { probs: Float32Array; input: Float32Array }[] = [];
    const results = await Promise.all(
      inputs.map((input, i) =>
        batcher.submit(input, {
          onResult: (probs, view) => {
            seen[i] = { probs: probs.slice(), input: view.slice() };
          },
        }),
      ),
    );
    // Compared as bytes: a failing toEqual on 60,000 floats takes minutes to print.
    const same = (a: Float32Array | undefined, b: Float32Array | undefined): boolean =>
      a !== undefined &&
      b !== undefined &&
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    for (const [i, input] of inputs.entries()) {
      expect(same(seen[i]?.input, input)).toBe(true);
      expect(seen[i]?.probs).toEqual(results[i]);
    }
    // A throwing onResult fails its own request only.
    const outcomes = await Promise.allSettled([
      batcher.submit(inputs[0] as Float32Array, {
        onResult: () => {
          throw new Error('boom');
        },
      }),
      batcher.submit(inputs[1] as Float32Array),
    ]);
    expect(outcomes[0]?.status).toBe('rejected');
    expect((outcomes[0] as PromiseRejectedResult).reason.message).toMatch(/handling the model output failed: boom/);
    expect(outcomes[1]).toEqual({ status: 'fulfilled', value: results[1] });
    await batcher.close();
  });

  it('keeps one batch in flight per instance of the session, and each caller gets its own answer', async () => {
    const pool = await createSession(model, { instances: 2, intraOpNumThreads: 1 });
    let inFlight = 0;
    let mostInFlight = 0;
    const counting: ModelSession = {
      ...slowed(pool, 20),
      runBuffer: async (input, n) => {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        try {
          await new Promise((r) => setTimeout(r, 20));
          return await pool.runBuffer(input, n);
        } finally {
          inFlight--;
        }
      },
    };
    const batcher = new DynamicBatcher(counting, { maxBatch: 4, maxDelayMs: 1 });
    const inputs = Array.from({ length: 24 }, (_, i) => randomModelInput(60 + i, 12, 5000));
    const results = await Promise.all(inputs.map((input) => batcher.submit(input)));
    expect(mostInFlight).toBe(2);
    for (const [i, input] of inputs.entries()) expectClose(results[i] as Float32Array, await unbatched(input));
    await batcher.close();
    await pool.release();
  });

  it('a failing run fails only its own batch, with a TransientError', async () => {
    let runs = 0;
    const flaky: ModelSession = {
      model: session.model,
      provider: session.provider,
      intraOpNumThreads: session.intraOpNumThreads,
      thread: session.thread,
      concurrency: session.concurrency,
      alive: true,
      run: (input, n) => session.run(input, n),
      runBuffer: (input, n) => (++runs === 1 ? Promise.reject(new Error('device lost')) : session.runBuffer(input, n)),
      release: async () => undefined,
    };
    const batcher = new DynamicBatcher(flaky, { maxBatch: 4, maxDelayMs: 1 });
    const input = randomModelInput(8, 12, 5000);
    const first = await Promise.allSettled([batcher.submit(input), batcher.submit(input)]);
    expect(first.every((o) => o.status === 'rejected' && o.reason instanceof TransientError)).toBe(true);
    expect((first[0] as PromiseRejectedResult).reason.message).toMatch(/inference run failed: device lost/);
    expectClose(await batcher.submit(input), await unbatched(input));
    await batcher.close();
  });

  it('pads partial batches for a model with a fixed batch size', async () => {
    const proto = onnx.ModelProto.decode(model.bytes);
    for (const info of [...(proto.graph?.input ?? []), ...(proto.graph?.output ?? [])]) {
      const dim0 = info.type?.tensorType?.shape?.dim?.[0];
      if (dim0) {
        dim0.dimParam = '';
        dim0.dimValue = 4;
      }
    }
    const bytes = onnx.ModelProto.encode(proto).finish();
    const fixed = checkModel('(fixed)', { ...model.card, sha256: sha256Hex(bytes) }, bytes);
    expect(fixed.fixedBatchSize).toBe(4);
    const fixedSession = await createSession(fixed, { intraOpNumThreads: 1 });
    const batcher = new DynamicBatcher(fixedSession, { maxDelayMs: 1 });
    expect(batcher.maxBatch).toBe(4);
    const inputs = [1, 2, 3, 4, 5].map((s) => randomModelInput(s, 12, 5000));
    const results = await Promise.all(inputs.map((x) => batcher.submit(x)));
    for (let i = 0; i < inputs.length; i++)
      expectClose(results[i] as Float32Array, await unbatched(inputs[i] as Float32Array));
    await batcher.close();
    await fixedSession.release();
  });

  it('refuses new work after close()', async () => {
    const batcher = new DynamicBatcher(session);
    await batcher.close();
    await expect(batcher.submit(new Float32Array(SIZE))).rejects.toThrow(/closed/);
  });
});
