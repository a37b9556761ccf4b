/**
 * Shadow mode end to end on the queued pipeline (real Redis, the test EHR over HTTP): a live demo model and a shadow
 * model with other weights, another card version and other thresholds. N ECGs go in over the HTTP feed; the EHR
 * gets exactly N results, all from the live model; the shadow's metrics (/metrics) and `ecgcad shadow report`
 * equal counts the test computes itself by scoring the same ECGs with each model folder directly.
 * The embedded mode's JSONL store is checked the same way, with a sink that refuses some writes.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError, type Prediction, type Stratum, VESSELS } from '@ecgcad/ecg';
import { DEFAULT_MODEL_DIR, EmbeddedPipeline, type QueuedEngine } from '@ecgcad/engine';
import { type BundleSink, FhirWriter, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import {
  createPredictor,
  generateModelFolder,
  type Predictor,
  type ShadowComparison,
  type ShadowRecord,
  ShadowScorer,
} from '@ecgcad/infer';
import { decodeEcg } from '@ecgcad/ingest';
import type { Bundle, Device, Observation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shadowReport } from '../packages/engine/src/commands/shadow.js';
import { JsonlShadowStore } from '../packages/engine/src/shadow-store.js';
import {
  dropPrefix,
  postAll,
  REDIS_URL,
  startTestEngine,
  syntheticDicoms,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';

const N = 30;
const STRATA: Stratum[] = ['low', 'intermediate', 'high'];
const MODEL_ID_SYSTEM = 'https://ecgcad.org/fhir/sid/model';
type Scored = Extract<Prediction, { status: 'scored' }>;

let tmp: string;
let shadowDir: string;
let liveTag: string;
let shadowTag: string;
let live: Predictor;
let shadow: Predictor;
const dicoms = syntheticDicoms(N, 'shadow');
/** ECG id -> the two models' own predictions, scored directly from the same bytes. */
const expected = new Map<string, { live: Scored; shadow: Scored }>();

/** The test's own count: per vessel, matrix[live][shadow], and per vessel the written results that would move. */
function expectedCounts(ids: Iterable<string>): {
  matrix: Record<string, number[][]>;
  changed: Record<string, { up: number; down: number }>;
  anyChanged: number;
} {
  const matrix: Record<string, number[][]> = {};
  const changed: Record<string, { up: number; down: number }> = {};
  let anyChanged = 0;
  for (const id of ids) {
    const pair = expected.get(id) as { live: Scored; shadow: Scored };
    let moved = false;
    for (const l of pair.live.vessels) {
      const s = pair.shadow.vessels.find((v) => v.vessel === l.vessel);
      if (!s) continue;
      matrix[l.vessel] ??= STRATA.map(() => [0, 0, 0]);
      changed[l.vessel] ??= { up: 0, down: 0 };
      const i = STRATA.indexOf(l.stratum);
      const j = STRATA.indexOf(s.stratum);
      (matrix[l.vessel] as number[][])[i]![j]! += 1;
      if (j > i) (changed[l.vessel] as { up: number }).up++;
      if (j < i) (changed[l.vessel] as { down: number }).down++;
      if (i !== j) moved = true;
    }
    if (moved) anyChanged++;
  }
  return { matrix, changed, anyChanged };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ecgcad-shadow-'));
  // The shadow: other weights (another seed), another card version, thresholds moved up.
  shadowDir = join(tmp, 'shadow-model');
  await generateModelFolder({ outDir: shadowDir, seed: 4242, calibrationExamples: 8 });
  const card = JSON.parse(await readFile(join(shadowDir, 'model.json'), 'utf8'));
  card.version = '2.0.0-shadow';
  for (const t of Object.values(card.thresholds) as Array<{ ruleOut: number; ruleIn: number }>) {
    t.ruleOut = Math.min(0.9, t.ruleOut * 1.5);
    t.ruleIn = Math.min(0.95, t.ruleIn * 1.25);
  }
  await writeFile(join(shadowDir, 'model.json'), JSON.stringify(card, null, 2));
  live = await createPredictor(DEFAULT_MODEL_DIR, { session: { intraOpNumThreads: 1 } });
  shadow = await createPredictor(shadowDir, { session: { intraOpNumThreads: 1 } });
  liveTag = `${live.model.ref.id}@${live.model.ref.version}`;
  shadowTag = `${shadow.model.ref.id}@${shadow.model.ref.version}`;
  for (const bytes of dicoms) {
    const ecg = decodeEcg(bytes, { feed: 'file', receivedAt: new Date().toISOString() });
    const [l, s] = await Promise.all([live.predict(ecg), shadow.predict(ecg)]);
    if (l.status !== 'scored' || s.status !== 'scored') throw new Error('a synthetic ECG was not scored');
    expected.set(ecg.id, { live: l, shadow: s });
  }
});

afterAll(async () => {
  await live?.close();
  await shadow?.close();
});

describe('shadow mode, queued pipeline', () => {
  let ehr: TestEhr;
  let engine: QueuedEngine & { tmp: string };
  const prefix = uniquePrefix('shadow');

  beforeAll(async () => {
    ehr = await startTestEhr();
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      overrides: [
        { path: ['model', 'threads'], value: 1 },
        { path: ['model', 'shadow'], value: { dir: shadowDir } },
      ],
    });
  });

  afterAll(async () => {
    await engine?.close();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  it('the EHR gets only the live results; metrics and the report equal the test’s own counts', async () => {
    // The thresholds and weights differ enough for the comparison to have something to count.
    const own = expectedCounts(expected.keys());
    expect(own.anyChanged).toBeGreaterThan(0);

    await postAll(engine.http!.url, dicoms, 8);
    const fhir = async (query: string): Promise<Bundle> => {
      const response = await fetch(`${ehr.url}/${query}`);
      expect(response.status).toBe(200);
      return (await response.json()) as Bundle;
    };
    await waitFor(
      `${N} RiskAssessments`,
      async () => ((await fhir('RiskAssessment?_count=1000')).entry ?? []).length >= N,
    );

    // Report from the durable store, configured as a site would: the config file names both folders.
    const configFile = join(tmp, 'config.json');
    await writeFile(
      configFile,
      JSON.stringify({ redis: { url: REDIS_URL, prefix }, model: { shadow: { dir: shadowDir } } }),
    );
    let reportJson = '';
    const readReport = async (): Promise<ShadowComparison> => {
      reportJson = '';
      await shadowReport({ config: configFile, json: true }, { write: (s: string) => (reportJson += s) });
      return JSON.parse(reportJson);
    };
    await waitFor(`${N} shadow records`, async () => (await readReport()).ecgs === N);
    // Let any retried write settle, then count over HTTP what the EHR holds.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const assessments = (await fhir('RiskAssessment?_count=1000')).entry ?? [];
    expect(assessments).toHaveLength(N);
    expect(ehr.stats.transactions).toBe(N);
    const devices = ((await fhir('Device?_count=100')).entry ?? []).map((e) => e.resource as Device);
    expect(devices.map((d) => d.identifier?.find((i) => i.system === MODEL_ID_SYSTEM)?.value)).toEqual([liveTag]);
    const shadowDevices = await fhir(`Device?identifier=${encodeURIComponent(`${MODEL_ID_SYSTEM}|${shadowTag}`)}`);
    expect(shadowDevices.entry ?? []).toHaveLength(0);
    // The vessel Observations in the EHR carry the live model's probabilities, one per ECG and vessel.
    const observations = ((await fhir('Observation?_count=1000')).entry ?? []).map((e) => e.resource as Observation);
    const written = observations
      .flatMap((o) =>
        o.component?.[0]?.valueQuantity?.code === '1' ? [o.component[0].valueQuantity.value as number] : [],
      )
      .sort((a, b) => a - b);
    const liveProbabilities = [...expected.values()]
      .flatMap((p) => p.live.vessels.map((v) => v.probability))
      .sort((a, b) => a - b);
    expect(written).toHaveLength(liveProbabilities.length);
    for (const [i, p] of written.entries()) expect(p).toBeCloseTo(liveProbabilities[i] as number, 4);

    // The report: matrices, agreement and the written results that would have changed stratum.
    const report = await readReport();
    expect(report.live).toEqual([liveTag]);
    expect(report.shadow).toEqual([shadowTag]);
    expect(report.written).toEqual({ n: N, changed: own.anyChanged });
    for (const vessel of VESSELS) {
      const row = report.vessels.find((v) => v.vessel === vessel);
      expect(row?.matrix).toEqual(own.matrix[vessel]);
      const { up, down } = own.changed[vessel] as { up: number; down: number };
      expect(row?.written).toEqual({ n: N, changed: up + down, up, down });
      const meanAbsDiff =
        [...expected.values()].reduce((sum, p) => {
          const l = p.live.vessels.find((v) => v.vessel === vessel)?.probability as number;
          const s = p.shadow.vessels.find((v) => v.vessel === vessel)?.probability as number;
          return sum + Math.abs(s - l);
        }, 0) / N;
      expect(row?.meanAbsDiff).toBeCloseTo(meanAbsDiff, 5);
      expect(meanAbsDiff).toBeGreaterThan(0);
    }

    // The metrics, scraped over HTTP, count the same pairs.
    const metrics = await (await fetch(`${engine.http!.url}/metrics`)).text();
    for (const vessel of VESSELS) {
      const matrix = own.matrix[vessel] as number[][];
      STRATA.forEach((l, i) => {
        STRATA.forEach((s, j) => {
          const n = matrix[i]?.[j] ?? 0;
          const line = `ecgcad_shadow_stratum_pairs_total{vessel="${vessel}",live="${l}",shadow="${s}"} ${n}`;
          if (n > 0) expect(metrics).toContain(line);
          else expect(metrics).not.toMatch(new RegExp(`vessel="${vessel}",live="${l}",shadow="${s}"\\} [1-9]`));
        });
      });
      const agreed = STRATA.reduce((sum, _, i) => sum + (matrix[i]?.[i] ?? 0), 0);
      const ratio = Number(
        new RegExp(`ecgcad_shadow_agreement_ratio\\{vessel="${vessel}"\\} (\\S+)`).exec(metrics)?.[1],
      );
      expect(ratio).toBeCloseTo(agreed / N, 10);
      expect(metrics).toContain(`ecgcad_shadow_prob_abs_diff_count{vessel="${vessel}"} ${N}`);
    }
    expect(metrics).toContain('ecgcad_shadow_failures_total{step="score"} 0');
    expect(metrics).toContain('ecgcad_shadow_failures_total{step="record"} 0');

    // The text report prints the same numbers.
    let text = '';
    await shadowReport({ config: configFile }, { write: (s: string) => (text += s) });
    expect(text).toContain(`live ${liveTag} vs shadow ${shadowTag}: ${N} ECG(s) scored by both`);
    expect(text).toContain(
      `${own.anyChanged} of ${N} written results would have changed stratum in at least one vessel`,
    );
  });
});

describe('shadow mode, embedded pipeline (JSONL store)', () => {
  it('records every ECG with whether its live result was written; the sink never sees the shadow', async () => {
    const file = join(tmp, 'embedded', 'shadow-results.jsonl');
    const store = new JsonlShadowStore(file);
    const delivered: Bundle[] = [];
    let calls = 0;
    // Every third Bundle is refused for good: those live results were not written.
    const sink: BundleSink = {
      async deliver(bundle) {
        calls++;
        if (calls % 3 === 0) throw new PermanentError('refused by the test sink');
        delivered.push(bundle);
        return { sink: 'file', target: 'memory', entries: [], created: 0, existing: 0 };
      },
    };
    const livePredictor = await createPredictor(DEFAULT_MODEL_DIR, { session: { intraOpNumThreads: 1 } });
    const scorer = new ShadowScorer({
      live: livePredictor,
      shadow: await createPredictor(shadowDir, { session: { intraOpNumThreads: 1 } }),
      onScored: (record: ShadowRecord) => store.append(record),
    });
    const pipeline = new EmbeddedPipeline({
      predictor: livePredictor,
      shadow: scorer,
      writer: new FhirWriter({ sink, patient: { whenMissing: 'placeholder' } }),
      concurrency: 1,
    });
    const outcomes = [];
    for (const [i, bytes] of dicoms.slice(0, 9).entries()) {
      outcomes.push(
        await pipeline.process(bytes, { feed: 'file', receivedAt: new Date().toISOString(), source: `f${i}` }),
      );
    }
    await pipeline.close();
    const done = new Set(outcomes.filter((o) => o.kind === 'done').map((o) => (o as { ecgId: string }).ecgId));
    expect(done.size).toBe(6);
    const records = await store.records();
    expect(records).toHaveLength(9);
    for (const r of records) {
      expect(r.written).toBe(done.has(r.ecgId));
      const own = expected.get(r.ecgId) as { live: Scored; shadow: Scored };
      expect(r.shadow.vessels.map((v) => v.stratum)).toEqual(own.shadow.vessels.map((v) => v.stratum));
      expect(r.live.vessels.map((v) => v.stratum)).toEqual(own.live.vessels.map((v) => v.stratum));
    }
    const text = JSON.stringify(delivered);
    expect(text).toContain(liveTag);
    expect(text).not.toContain(shadowTag);
    // `ecgcad shadow report --file`: only the written results count as results that would have changed.
    let json = '';
    await shadowReport({ file, json: true }, { write: (s: string) => (json += s) });
    const report = JSON.parse(json);
    expect(report.ecgs).toBe(9);
    expect(report.written).toEqual({ n: 6, changed: expectedCounts(done).anyChanged });
  });
});
