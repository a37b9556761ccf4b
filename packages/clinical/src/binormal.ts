/**
 * Synthetic labelled cohorts whose true AUC is known by construction (the binormal model): per vessel, a label
 * drawn with the given prevalence and a score whose logit is N(0, 1) for negatives and N(d, 1) for positives, so
 * the true AUC is Phi(d / sqrt 2). For tests, benchmarks and trying `calibrate` without patient data.
 */
import { VESSELS, type Vessel } from '@ecgcad/ecg';
import { seededRandom } from './rng.js';
import type { Label, ScoreRow } from './scores.js';

export interface BinormalVessel {
  /** Share of positives, in (0, 1). */
  prevalence: number;
  /** d: distance between the class means on the logit scale, in SDs. */
  separation: number;
}

/** Standard normal deviate (Box-Muller) from a uniform stream. */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * Standard normal CDF from the complementary error function (Numerical Recipes' Chebyshev fit of erfc,
 * fractional error < 1.2e-7 everywhere).
 */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** The true AUC of a binormal score with separation d (equal variances): Phi(d / sqrt 2). */
export const binormalAuc = (separation: number): number => normalCdf(separation / Math.SQRT2);

/**
 * `count` scored rows with a probability and a label for each vessel given. Seeded: the same arguments give the
 * same rows. Negatives' logits are centred so that the mean probability is near the prevalence.
 */
export function binormalScoreRows(
  count: number,
  vessels: Partial<Record<Vessel, BinormalVessel>>,
  seed = 1,
): ScoreRow[] {
  const random = seededRandom(seed);
  const rows: ScoreRow[] = new Array(count);
  const present = VESSELS.filter((v) => vessels[v]);
  for (let i = 0; i < count; i++) {
    const id = `syn-${String(i + 1).padStart(6, '0')}`;
    const row: ScoreRow = {
      line: i + 2,
      ecgId: id,
      path: `${id}.xml`,
      probabilities: {},
      labels: {},
      status: 'scored',
    };
    for (const vessel of present) {
      const { prevalence, separation } = vessels[vessel] as BinormalVessel;
      const label: Label = random() < prevalence ? 1 : 0;
      const logit = gaussian(random) + label * separation + Math.log(prevalence / (1 - prevalence)) - separation / 2;
      row.probabilities[vessel] = 1 / (1 + Math.exp(-logit));
      row.labels[vessel] = label;
    }
    rows[i] = row;
  }
  return rows;
}
