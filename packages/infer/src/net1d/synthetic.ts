/**
 * Seeded ECG-like model inputs (beats as Gaussian waves on a baseline wander, plus noise), z-scored over the whole
 * record like the demo card's `zscore-record`. For calibrating the demo head and for tests, not for clinical use.
 */
import { SeededRandom } from './rng.js';

/** One [leads, samples] NCL input, z-scored over the whole array. */
export function syntheticModelInput(seed: number, leads: number, samples: number, sampleRateHz = 500): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(leads * samples);
  const heartRate = 50 + 60 * rng.uniform();
  const rr = (60 / heartRate) * sampleRateHz;
  const wanderHz = 0.1 + 0.4 * rng.uniform();
  for (let lead = 0; lead < leads; lead++) {
    // Per-lead amplitudes of P, QRS and T waves (the sign models the lead axis).
    const p = 0.15 * rng.normal();
    const r = 1.2 * rng.normal();
    const t = 0.3 * rng.normal();
    const noise = 0.02 + 0.05 * rng.uniform();
    const phase = rng.uniform() * 2 * Math.PI;
    for (let i = 0; i < samples; i++) {
      const beatPos = (i % rr) / sampleRateHz; // seconds since this beat started
      const wave =
        p * Math.exp(-(((beatPos - 0.1) / 0.025) ** 2)) +
        r * Math.exp(-(((beatPos - 0.25) / 0.012) ** 2)) +
        t * Math.exp(-(((beatPos - 0.5) / 0.05) ** 2));
      const wander = 0.2 * Math.sin((2 * Math.PI * wanderHz * i) / sampleRateHz + phase);
      out[lead * samples + i] = wave + wander + noise * rng.normal();
    }
  }
  return zscoreInPlace(out);
}

/** Uniform random values in [-1, 1), z-scored: an input with no ECG structure at all. */
export function randomModelInput(seed: number, leads: number, samples: number): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(leads * samples);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return zscoreInPlace(out);
}

function zscoreInPlace(x: Float32Array): Float32Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  const sd = Math.sqrt(variance / x.length) || 1;
  for (let i = 0; i < x.length; i++) x[i] = ((x[i] as number) - mean) / sd;
  return x;
}
