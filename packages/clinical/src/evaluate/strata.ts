/**
 * The three strata of one vessel, as the engine writes them: low (p < ruleOut), intermediate (ruleOut <= p < ruleIn)
 * and high (p >= ruleIn), with the count and the observed prevalence of disease in each.
 */
import type { Stratum } from '@ecgcad/ecg';
import { type Proportion, proportion } from './proportion.js';

/** The strata in their order, lowest first. */
export const STRATA: readonly Stratum[] = ['low', 'intermediate', 'high'];

/** A vessel's thresholds (a model card's, or a calibration's). */
export interface StratumThresholds {
  ruleOut: number;
  ruleIn: number;
}

/** The stratum of one probability. */
export function stratumOf(p: number, t: StratumThresholds): Stratum {
  if (p < t.ruleOut) return 'low';
  return p >= t.ruleIn ? 'high' : 'intermediate';
}

/** One stratum's row in the strata table. */
export interface StratumRow {
  stratum: Stratum;
  n: number;
  /** n / all cases. */
  share: number;
  /** Events / n in the stratum, with a 95 % Wilson interval. */
  prevalence: Proportion;
}

/** The strata table of one vessel, in the order low, intermediate, high. */
export function strataTable(p: ArrayLike<number>, y: ArrayLike<number>, t: StratumThresholds): StratumRow[] {
  const n = { low: 0, intermediate: 0, high: 0 };
  const events = { low: 0, intermediate: 0, high: 0 };
  for (let i = 0; i < p.length; i++) {
    const s = stratumOf(p[i] as number, t);
    n[s]++;
    events[s] += y[i] as number;
  }
  return STRATA.map((stratum) => ({
    stratum,
    n: n[stratum],
    share: p.length > 0 ? n[stratum] / p.length : 0,
    prevalence: proportion(events[stratum], n[stratum]),
  }));
}
