import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeEcg, TransientError } from '@ecgcad/ecg';
import { type BundleSink, FhirWriter, FileSink } from '@ecgcad/fhir-writer';
import { buildModelInMemory, createSession, Predictor } from '@ecgcad/infer';
import { writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPipeline, expandPaths, runFiles } from './embedded.js';
import { formatProblems, formatTable } from './report.js';

const { model } = buildModelInMemory();
let predictor: Predictor;

beforeAll(async () => {
  predictor = new Predictor(await createSession(model, { intraOpNumThreads: 1 }), {
    batching: { maxBatch: 4, maxDelayMs: 2 },
  });
});
afterAll(async () => {
  await predictor.close();
});

describe('EmbeddedPipeline', () => {
  it('runs a folder: a Bundle per ECG, refusals with reasons, outcomes in input order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecgcad-embedded-'));
    const out = join(dir, 'out');
    await writeFile(join(dir, 'a.dcm'), writeDicomEcg(synthesizeEcg({ seed: 1 })));
    await writeFile(join(dir, 'b.xml'), writeAecg(synthesizeEcg({ seed: 2 })));
    await writeFile(join(dir, 'c.txt'), 'not an ECG');
    await writeFile(join(dir, '.hidden'), 'skipped');
    const pipeline = new EmbeddedPipeline({
      predictor,
      writer: new FhirWriter({ sink: new FileSink({ dir: out }), patient: { whenMissing: 'placeholder' } }),
    });
    const files = await expandPaths([dir, join(dir, 'missing.dcm')]);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['a.dcm', 'b.xml', 'c.txt', 'missing.dcm']);
    const seen: number[] = [];
    const outcomes = await runFiles(pipeline, files, (_, i) => seen.push(i));
    expect(seen.sort()).toEqual([0, 1, 2, 3]);
    expect(outcomes.map((o) => o.kind)).toEqual(['done', 'done', 'refused', 'refused']);
    expect(outcomes[2]).toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect(outcomes[3]).toMatchObject({ code: 'UNREADABLE' });
    const bundles = (await readdir(out)).filter((f) => f.endsWith('.json'));
    expect(bundles).toHaveLength(2);
    const bundle = JSON.parse(await readFile(join(out, bundles[0]!), 'utf8')) as { type: string };
    expect(bundle.type).toBe('transaction');
    expect(formatTable(outcomes)).toMatch(/a\.dcm\s+\d\.\d{3} (low|mid|HIGH)/);
    expect(formatProblems(outcomes)).toEqual([
      expect.stringMatching(/^refused {2}.*c\.txt: UNSUPPORTED_FORMAT: /),
      expect.stringMatching(/^refused {2}.*missing\.dcm: UNREADABLE: cannot read the file/),
    ]);
  });

  it('refuses a second document that claims an ECG id already seen with other content; a resend of the same bytes is idempotent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecgcad-dup-'));
    const out = join(dir, 'out');
    const ecg = synthesizeEcg({ seed: 3 });
    const other = { ...synthesizeEcg({ seed: 4 }), id: ecg.id };
    await writeFile(join(dir, 'a.dcm'), writeDicomEcg(ecg));
    await writeFile(join(dir, 'b.dcm'), writeDicomEcg(ecg));
    await writeFile(join(dir, 'c.dcm'), writeDicomEcg(other));
    const pipeline = new EmbeddedPipeline({
      predictor,
      writer: new FhirWriter({ sink: new FileSink({ dir: out }), patient: { whenMissing: 'placeholder' } }),
      concurrency: 1,
    });
    const outcomes = await runFiles(pipeline, await expandPaths([dir]));
    expect(outcomes.map((o) => o.kind)).toEqual(['done', 'done', 'refused']);
    expect(outcomes[2]).toMatchObject({
      code: 'DUPLICATE_ID',
      reason: 'same ECG id as a.dcm but different content; the first one stands',
    });
    expect((await readdir(out)).filter((f) => f.endsWith('.json'))).toHaveLength(1);
  });

  it('keeps at most `concurrency` ECGs in flight', async () => {
    let active = 0;
    let peak = 0;
    const slow: BundleSink = {
      async deliver() {
        peak = Math.max(peak, ++active);
        // The first deliveries wait until three are in flight (at most 2 s), so on a loaded machine the peak does
        // not hang on whether a third ECG got through decode and inference before the first delivery ended.
        const until = Date.now() + 2000;
        while (peak < 3 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 2));
        await new Promise((resolve) => setTimeout(resolve, 5));
        active--;
        return { sink: 'file', target: 'memory', entries: [], created: 1, existing: 0 };
      },
    };
    const pipeline = new EmbeddedPipeline({
      predictor,
      writer: new FhirWriter({ sink: slow, patient: { whenMissing: 'placeholder' } }),
      concurrency: 3,
    });
    const meta = { feed: 'file' as const, receivedAt: new Date().toISOString() };
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pipeline.process(writeDicomEcg(synthesizeEcg({ seed: 100 + i })), { ...meta, source: `${i}.dcm` }),
      ),
    );
    expect(outcomes.every((o) => o.kind === 'done')).toBe(true);
    expect(peak).toBe(3);
  });

  it('retries a transient sink fault, and reports a permanent one without retrying', async () => {
    let calls = 0;
    const flaky: BundleSink = {
      async deliver() {
        calls++;
        if (calls < 3) throw new TransientError('EHR answered 503');
        return { sink: 'file', target: 'memory', entries: [], created: 1, existing: 0 };
      },
    };
    const pipeline = new EmbeddedPipeline({
      predictor,
      writer: new FhirWriter({ sink: flaky, patient: { whenMissing: 'placeholder' } }),
      retry: { attempts: 5, baseDelayMs: 1 },
    });
    const bytes = writeDicomEcg(synthesizeEcg({ seed: 3 }));
    const ok = await pipeline.process(bytes, { feed: 'file', receivedAt: new Date().toISOString(), source: 'x.dcm' });
    expect(ok.kind).toBe('done');
    expect(calls).toBe(3);

    const refusing = new EmbeddedPipeline({
      predictor,
      writer: new FhirWriter({ sink: flaky, patient: { whenMissing: 'refuse' } }),
      retry: { attempts: 5, baseDelayMs: 1 },
    });
    const anonymous = synthesizeEcg({ seed: 4 });
    anonymous.patient = {};
    const failed = await refusing.process(writeDicomEcg(anonymous), {
      feed: 'file',
      receivedAt: new Date().toISOString(),
      source: 'y.dcm',
    });
    expect(failed).toMatchObject({ kind: 'failed', stage: 'write' });
    expect(calls).toBe(3);
  });
});
