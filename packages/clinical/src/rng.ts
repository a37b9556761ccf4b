/**
 * A small seeded pseudo-random number generator, so that bootstrap resampling gives the same confidence intervals
 * on every rerun with the same seed (and on every machine: it uses only 32-bit integer arithmetic).
 *
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state advanced by a Weyl sequence (+0x6D2B79F5) and mixed by
 * two xor-shift-multiply rounds. Period 2^32, passes gjrand and PractRand to 2^32 bytes: ample for resampling
 * indices (a 100,000-row cohort x 1,000 resamples draws 10^8 numbers), and not for cryptography.
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError('seed must be a finite number');
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in [0, n) from a seededRandom() stream. */
export const randomIndex = (random: () => number, n: number): number => Math.floor(random() * n);
