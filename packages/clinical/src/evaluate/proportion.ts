/**
 * A proportion with its Wilson score interval (Wilson 1927; recommended over the Wald interval by Newcombe 1998,
 * Stat Med 17:857, and Brown, Cai & DasGupta 2001, Stat Sci 16:101, because it stays inside [0, 1] and keeps its
 * coverage for small n and proportions near 0 or 1, as NPVs and observed risks in a calibration bin often are).
 */
import { Z_975 } from '../delong.js';

/** k out of n with the observed share and its 95 % Wilson interval; value and ci95 are null when n is 0. */
export interface Proportion {
  k: number;
  n: number;
  value: number | null;
  ci95: [number, number] | null;
}

/** The Wilson score interval of k successes in n trials (n > 0) at the two-sided level of z (default 95 %). */
export function wilsonInterval(k: number, n: number, z = Z_975): [number, number] {
  if (!(n > 0) || k < 0 || k > n) throw new RangeError(`wilsonInterval needs 0 <= k <= n and n > 0 (k=${k}, n=${n})`);
  const phat = k / n;
  const z2 = z * z;
  const centre = (phat + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n));
  // At k = 0 or k = n the exact bound is 0 or 1; rounding must not leave it a hair outside.
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/** k of n as a {@link Proportion}. */
export function proportion(k: number, n: number): Proportion {
  if (n === 0) return { k, n, value: null, ci95: null };
  return { k, n, value: k / n, ci95: wilsonInterval(k, n) };
}
