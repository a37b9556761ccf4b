import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generateCohort, parseCsv, readScores } from '@ecgcad/clinical';
import { VESSELS } from '@ecgcad/ecg';
import { loadModelFolder } from '@ecgcad/infer';
import { beforeAll, describe, expect, it } from 'vitest';
import { CohortUsageError, cohortCommand, MANIFEST_COLUMNS } from './cohort.js';
import { scoreCommand } from './score.js';

const quiet = (): Writable =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

/** AUC (Mann-Whitney) with its DeLong (1988) 95 % CI, written out here independently of the code under test. */
function aucWithCi(scores: number[], labels: number[]): { auc: number; lo: number; hi: number } {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  const psi = (x: number, y: number): number => (x > y ? 1 : x === y ? 0.5 : 0);
  const v10 = pos.map((x) => neg.reduce((s, y) => s + psi(x, y), 0) / neg.length);
  const v01 = neg.map((y) => pos.reduce((s, x) => s + psi(x, y), 0) / pos.length);
  const auc = v10.reduce((a, b) => a + b, 0) / pos.length;
  const variance = (xs: number[]): number => xs.reduce((s, x) => s + (x - auc) ** 2, 0) / (xs.length - 1);
  const se = Math.sqrt(variance(v10) / pos.length + variance(v01) / neg.length);
  return { auc, lo: auc - 1.959964 * se, hi: auc + 1.959964 * se };
}

/** Spearman rank correlation (no ties expected in continuous scores). */
function spearman(a: number[], b: number[]): number {
  const ranks = (x: number[]): number[] => {
    const r = new Array<number>(x.length);
    x.map((v, i) => [v, i] as const)
      .sort((p, q) => p[0] - q[0])
      .forEach(([, i], k) => {
        r[i] = k;
      });
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const d2 = ra.reduce((s, r, i) => s + (r - (rb[i] as number)) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

const COUNT = 300;
// A 95 % CI misses now and then by design: over seeds 1-40 of 300-subject cohorts, 149 of the 160 vessel CIs (DeLong,
// on the latents) cover the planted AUC, and 30 seeds cover all four vessels. Seed 2 is one of those; the check that
// the model reads the latent (same AUC as the latent itself, same order) holds for every seed.
const SEED = 2;
let dir: string;
let description: Record<string, unknown>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecgcad-cohort-'));
  description = await cohortCommand({ out: join(dir, 'cohort'), count: COUNT, seed: SEED, progress: false }, quiet());
}, 60_000);

describe('ecgcad cohort', () => {
  it('writes ECG files, a manifest, a model folder the engine loads and cohort.json', async () => {
    const cohortDir = join(dir, 'cohort');
    expect((await readdir(cohortDir)).sort()).toEqual(['cohort.json', 'ecgs', 'manifest.csv', 'model']);
    expect(await readdir(join(cohortDir, 'ecgs'))).toHaveLength(COUNT);
    const manifest = parseCsv(await readFile(join(cohortDir, 'manifest.csv'), 'utf8'));
    expect(manifest.columns).toEqual(MANIFEST_COLUMNS);
    expect(manifest.records).toHaveLength(COUNT);
    const model = await loadModelFolder(join(cohortDir, 'model'));
    expect(model.card.clinicalUse).toBe(false);
    expect(model.card.intendedUse).toMatch(/synthetic planted effect only/);
    expect(model.card.input.normalize).toBe('none');
    expect(model.card.input.filter).toBeUndefined();
    expect(JSON.parse(await readFile(join(cohortDir, 'cohort.json'), 'utf8'))).toEqual(description);
  });

  it('scores back the planted AUC per vessel: within its 95 % CI, and the latent read monotonically', async () => {
    const cohortDir = join(dir, 'cohort');
    const out = join(dir, 'scores.csv');
    const summary = await scoreCommand(
      { manifest: join(cohortDir, 'manifest.csv'), out, model: join(cohortDir, 'model'), progress: false },
      quiet(),
    );
    expect(summary).toMatchObject({ total: COUNT, scored: COUNT, failures: 0 });
    const rows = readScores(await readFile(out, 'utf8'));
    const cohort = generateCohort({ count: COUNT, seed: SEED });
    const vessels = description.vessels as Record<string, { plantedAuc: number; sampleLatentAuc: number }>;
    for (const v of VESSELS) {
      const p = rows.map((r) => r.probabilities[v] as number);
      const y = rows.map((r) => r.labels[v] as number);
      expect(y).toEqual(cohort.subjects.map((s) => s.clinical.labels[v]));
      const { auc, lo, hi } = aucWithCi(p, y);
      const planted = vessels[v]?.plantedAuc as number;
      expect(planted, `${v}: planted AUC ${planted} outside the scored AUC's CI [${lo}, ${hi}]`).toBeGreaterThan(lo);
      expect(planted).toBeLessThan(hi);
      // The model reads the latent nearly exactly: the same AUC as the latent itself in this sample ...
      expect(Math.abs(auc - (vessels[v]?.sampleLatentAuc as number))).toBeLessThan(0.01);
      // ... and the same order.
      expect(
        spearman(
          p,
          cohort.subjects.map((s) => s.latents[v]),
        ),
      ).toBeGreaterThan(0.99);
    }
  }, 60_000);

  it('refuses a folder that is not empty', async () => {
    const busy = join(dir, 'busy');
    await cohortCommand({ out: busy, count: 1, progress: false }, quiet());
    await expect(cohortCommand({ out: busy, count: 1, progress: false }, quiet())).rejects.toThrow(CohortUsageError);
    await writeFile(join(dir, 'busy', 'x'), '');
  });
});
