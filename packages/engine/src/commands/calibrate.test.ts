import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatScoreRows,
  parseReferenceProfile,
  REFERENCE_PROFILE_FILE,
  type ScoreRow,
  scoresHeader,
} from '@ecgcad/clinical';
import { synthesizeEcg, type Vessel } from '@ecgcad/ecg';
import { createPredictor, generateModelFolder, loadModelFolder } from '@ecgcad/infer';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runSubcommand } from '../../../../test/support/cli.js';
import { calibratedVersion, register } from './calibrate.js';

const run = (args: string[]) => runSubcommand(register, 'calibrate', args);
const DEMO = fileURLToPath(new URL('../../../../models/ecgcad-demo', import.meta.url));
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** A fresh copy of the demo model (built by `turbo run build`; generated here when absent). */
async function demoModelCopy(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'ecgcad-calibrate-')), 'ecgcad-demo');
  if (existsSync(join(DEMO, 'model.onnx'))) cpSync(DEMO, dir, { recursive: true });
  else await generateModelFolder({ outDir: dir });
  return dir;
}

/** Strata the model at `dir` writes for the test ECGs, per ECG and vessel, plus the probabilities. */
async function strataOf(dir: string): Promise<{ strata: string[]; probabilities: Record<Vessel, number[]> }> {
  const predictor = await createPredictor(dir, { session: { intraOpNumThreads: 1 } });
  const strata: string[] = [];
  const probabilities = { RCA: [], LM: [], LAD: [], LCx: [] } as Record<Vessel, number[]>;
  try {
    for (let i = 0; i < 6; i++) {
      const prediction = await predictor.predict(synthesizeEcg({ seed: 700 + i, heartRateBpm: 55 + 7 * i }));
      if (prediction.status !== 'scored') throw new Error('synthetic ECG not scored');
      for (const v of prediction.vessels) {
        strata.push(`${v.vessel}:${v.stratum}`);
        probabilities[v.vessel].push(v.probability);
      }
    }
  } finally {
    await predictor.close();
  }
  return { strata, probabilities };
}

/**
 * A labelled cohort (weak signal, 60 positives / 140 negatives per vessel) whose scores all lie below the lowest
 * probability the model gives the test ECGs (so calibrated thresholds make them all high) or, for a vessel where
 * they are all high already, above the highest (so they become low).
 */
function cohortFile(dir: string, probabilities: Record<Vessel, number[]>, strata: string[]): string {
  const rows: Array<Omit<ScoreRow, 'line'>> = [];
  const ranges = Object.fromEntries(
    (Object.keys(probabilities) as Vessel[]).map((vessel) => {
      const ps = probabilities[vessel];
      const allHigh = strata.filter((s) => s.startsWith(`${vessel}:`)).every((s) => s.endsWith(':high'));
      const lo = allHigh ? Math.max(...ps) + (1 - Math.max(...ps)) * 0.1 : 0;
      const hi = allHigh ? 1 : Math.min(...ps) * 0.9;
      return [vessel, [lo, hi]];
    }),
  ) as Record<Vessel, [number, number]>;
  for (let i = 0; i < 200; i++) {
    const label = i % 10 < 3 ? 1 : 0;
    const probabilities: Partial<Record<Vessel, number>> = {};
    const labels: Partial<Record<Vessel, 0 | 1>> = {};
    for (const vessel of Object.keys(ranges) as Vessel[]) {
      const [lo, hi] = ranges[vessel];
      // Positives in the upper 60 % of the range, negatives across it: an AUC well above 1/2.
      const u = ((i * 37) % 200) / 200;
      probabilities[vessel] = lo + (hi - lo) * (label ? 0.4 + 0.6 * u : u);
      labels[vessel] = label;
    }
    rows.push({ ecgId: `c${i}`, path: `c${i}.xml`, probabilities, labels, status: 'scored' });
  }
  const file = join(dir, 'scores.csv');
  writeFileSync(file, scoresHeader() + formatScoreRows(rows));
  return file;
}

describe('ecgcad calibrate', () => {
  let model: string;
  let before: Awaited<ReturnType<typeof strataOf>>;
  let scores: string;
  beforeAll(async () => {
    model = await demoModelCopy();
    before = await strataOf(model);
    scores = cohortFile(join(model, '..'), before.probabilities, before.strata);
  }, 120_000);

  it('writes a new model folder that loads, and whose thresholds change the strata the engine writes', async () => {
    const cardBefore = sha(join(model, 'model.json'));
    const out = join(model, '..', 'calibrated');
    const r = await run(['--scores', scores, '--model', model, '--out', out, '--json', '--bootstrap', '200']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBeUndefined();
    const json = JSON.parse(r.stdout);
    for (const vessel of ['RCA', 'LM', 'LAD', 'LCx']) {
      expect(json.vessels[vessel]).toMatchObject({
        n: 200,
        positives: 60,
        auc: expect.any(Number),
        aucCi95: {
          delong: [expect.any(Number), expect.any(Number)],
          bootstrap: [expect.any(Number), expect.any(Number)],
        },
        ruleOut: { threshold: expect.any(Number), sensitivity: expect.any(Number), specificity: expect.any(Number) },
        ruleIn: { threshold: expect.any(Number), sensitivity: expect.any(Number), specificity: expect.any(Number) },
      });
      expect(json.vessels[vessel].ruleOut.sensitivity).toBeGreaterThanOrEqual(0.9);
      expect(json.vessels[vessel].ruleIn.specificity).toBeGreaterThanOrEqual(0.9);
    }
    // The live folder is untouched; the new one loads and names its calibration.
    expect(sha(join(model, 'model.json'))).toBe(cardBefore);
    const loaded = await loadModelFolder(out);
    expect(loaded.card.version).toMatch(/^1\.0\.0\+cal\.\d{8}\.[0-9a-f]{8}$/);
    expect(json.model).toEqual({ id: 'ecgcad-demo', version: loaded.card.version, calibratedFrom: '1.0.0' });
    expect(loaded.card.thresholds.LAD).toEqual({
      ruleOut: json.vessels.LAD.ruleOut.threshold,
      ruleIn: json.vessels.LAD.ruleIn.threshold,
      ruleOutSensitivity: json.vessels.LAD.ruleOut.sensitivity,
      ruleInSpecificity: json.vessels.LAD.ruleIn.specificity,
    });
    expect(loaded.card.calibration).toMatchObject({
      cohortSha256: sha(scores),
      rule: 'sens-spec',
      engineVersion: '0.1.0',
      calibratedFrom: '1.0.0',
      bootstrap: { resamples: 200, seed: 42 },
      vessels: { RCA: { n: 200, positives: 60, targetSensitivity: 0.9, targetSpecificity: 0.9 } },
    });
    expect(sha(join(out, 'model.onnx'))).toBe(sha(join(model, 'model.onnx')));
    expect(JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')).vessels.RCA.roc.length).toBeGreaterThan(2);
    // The drift reference of the new version: the cohort's outputs, and its strata under the new thresholds.
    const profile = parseReferenceProfile(readFileSync(join(out, REFERENCE_PROFILE_FILE), 'utf8'));
    expect(profile).toMatchObject({ source: 'calibrate', n: 200, model: { version: loaded.card.version } });
    const lad = profile.strata?.LAD;
    expect((lad?.low ?? 0) + (lad?.intermediate ?? 0) + (lad?.high ?? 0)).toBe(200);
    expect(profile.measures.probability_LAD?.counts.reduce((a, b) => a + b, 0)).toBe(200);
    const after = await strataOf(out);
    expect(after.probabilities).toEqual(before.probabilities);
    expect(after.strata).not.toEqual(before.strata);
    // Every vessel was pushed to one stratum by construction.
    for (const vessel of ['RCA', 'LM', 'LAD', 'LCx']) {
      expect(new Set(after.strata.filter((s) => s.startsWith(`${vessel}:`))).size).toBe(1);
    }
    // Same inputs: same result; an existing --out is refused and nothing is left behind.
    const again = await run(['--scores', scores, '--model', model, '--out', out, '--bootstrap', '200']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/calibrated already exists: choose another --out\n$/);
  }, 120_000);

  it('defaults --out to a sibling named after the new version, and prints a table', async () => {
    const r = await run(['--scores', scores, '--model', model, '--bootstrap', '50', '--rule', 'sens-spec']);
    expect(r.exitCode).toBeUndefined();
    const siblings = readdirSync(join(model, '..')).filter((name) => name.startsWith('ecgcad-demo-1.0.0+cal.'));
    expect(siblings).toHaveLength(1);
    expect(r.stdout).toMatch(/^ecgcad-demo 1\.0\.0 -> 1\.0\.0\+cal\.\d{8}\.[0-9a-f]{8}$/m);
    expect(r.stdout).toMatch(/^LAD +200 +60 +0\.\d{3} +0\.\d{3}-\d\.\d{3} +0\.\d{3}-\d\.\d{3}$/m);
    expect(r.stdout).toMatch(/^RCA +rule-out +0\.\d{4} +\d\.\d{3} \(/m);
    expect(r.stdout).toMatch(/new model folder: .*ecgcad-demo-1\.0\.0\+cal\./);
    expect(readdirSync(join(model, '..')).filter((name) => name.includes('.partial-'))).toEqual([]);
  }, 60_000);

  it('exits 2 with one clear line for bad scores files, thin vessels and bad options, writing nothing', async () => {
    const dir = join(model, '..');
    const listing = readdirSync(dir).sort();
    const text = readFileSync(scores, 'utf8');
    const missing = join(dir, 'missing-column.csv');
    writeFileSync(missing, text.replace('ecg_id,path,RCA,', 'ecg_id,path,RCA_probability,'));
    const nan = join(dir, 'nan.csv');
    const lines = text.split('\n');
    lines[5] = (lines[5] as string).replace(/^(c\d+,c\d+\.xml,)[^,]+,/, '$1NaN,');
    writeFileSync(nan, lines.join('\n'));
    const thin = join(dir, 'thin.csv');
    writeFileSync(thin, text.split('\n').slice(0, 60).join('\n'));
    const cases: Array<[string[], RegExp]> = [
      [['--scores', missing], /missing-column\.csv: missing column "RCA"\n$/],
      [['--scores', nan], /nan\.csv: line 6, column "RCA": probability must be a number from 0 to 1\n$/],
      [['--scores', thin], /RCA: 18 positives and 41 negatives; calibration needs at least 20 of each\n$/],
      [['--scores', join(dir, 'nope.csv')], /cannot read the scores file .*nope\.csv: no such file\n$/],
      [['--scores', scores, '--sensitivity', 'high'], /--sensitivity must be a number, got "high"\n$/],
      [['--scores', scores, '--rule', 'magic'], /--rule must be sens-spec or study, got "magic"\n$/],
      [['--scores', scores, '--specificity', '1.5'], /target specificity must be in \(0, 1\], got 1.5\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await run([...args, '--model', model, '--bootstrap', '20']);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^ecgcad calibrate: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
    const bad = await run(['--scores', scores, '--model', join(dir, 'no-model'), '--bootstrap', '20']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/cannot read model\.json/);
    expect(readdirSync(dir).sort()).toEqual([...listing, 'missing-column.csv', 'nan.csv', 'thin.csv'].sort());
  }, 60_000);
});

describe('calibratedVersion', () => {
  it('appends build metadata with the date and a fingerprint, replacing earlier metadata', () => {
    const date = new Date('2026-12-03T17:00:00Z');
    expect(calibratedVersion('1.0.0', date, 'ab12cd34ef')).toBe('1.0.0+cal.20261203.ab12cd34');
    expect(calibratedVersion('1.0.0+cal.20260101.00000000', date, 'ffffffff')).toBe('1.0.0+cal.20261203.ffffffff');
  });
});
