/**
 * PTP alone against PTP combined with the AI stratum, on cases with a known outcome. Both strategies put each case
 * in one of three ordered classes: low (rule-out: no further test), intermediate (the grey zone), high (test).
 *
 * - Rule-out sensitivity: events NOT classed low / events (the share of disease the strategy does not rule out).
 * - Rule-out NPV: non-events classed low / cases classed low.
 * - Grey zone: cases classed intermediate / all cases.
 * - Categorical NRI (Pencina et al. 2008, Stat Med 27:157): for events, P(up) - P(down); for non-events,
 *   P(down) - P(up), where up / down is the combined class above / below the PTP class. Total = the sum.
 *   95 % CIs are Wald intervals with the asymptotic variance of a difference of two multinomial shares,
 *   (P(up) + P(down) - (P(up) - P(down))^2) / n for each group, the groups independent; the p-value tests total
 *   NRI = 0 with that SE. (Pencina's own z uses (P(up) + P(down)) / n, the variance under the null; the two
 *   agree when the NRI is small.)
 */

import type { Stratum } from '@ecgcad/ecg';
import erfc from '@stdlib/math-base-special-erfc';
import { Z_975 } from '../delong.js';
import { type Proportion, proportion } from './proportion.js';
import { STRATA } from './strata.js';

/** Rule-out and grey-zone figures of one strategy. */
export interface StrategySummary {
  /** Cases classed low, intermediate, high. */
  counts: Record<Stratum, number>;
  ruleOutSensitivity: Proportion;
  ruleOutNpv: Proportion;
  /** Cases classed low / all: how many the strategy spares a test. */
  ruledOut: Proportion;
  greyZone: Proportion;
}

/** One half of the NRI (events or non-events). */
export interface NriComponent {
  n: number;
  up: number;
  down: number;
  /** Events: (up - down) / n; non-events: (down - up) / n. */
  nri: number;
  se: number;
  ci95: [number, number];
}

export interface ReclassificationSummary {
  n: number;
  events: number;
  ptp: StrategySummary;
  combined: StrategySummary;
  /** Reclassification tables: [ptp class][combined class] counts, for events and non-events. */
  table: { events: Record<Stratum, Record<Stratum, number>>; nonEvents: Record<Stratum, Record<Stratum, number>> };
  nri: {
    events: NriComponent;
    nonEvents: NriComponent;
    total: { nri: number; se: number; ci95: [number, number]; z: number; pValue: number };
    method: string;
  };
}

const RANK: Record<Stratum, number> = { low: 0, intermediate: 1, high: 2 };

const emptyTable = (): Record<Stratum, Record<Stratum, number>> =>
  Object.fromEntries(STRATA.map((s) => [s, { low: 0, intermediate: 0, high: 0 }])) as Record<
    Stratum,
    Record<Stratum, number>
  >;

function strategy(classes: readonly Stratum[], y: ArrayLike<number>): StrategySummary {
  const counts: Record<Stratum, number> = { low: 0, intermediate: 0, high: 0 };
  let events = 0;
  let eventsNotLow = 0;
  let nonEventsLow = 0;
  classes.forEach((c, i) => {
    counts[c]++;
    if (y[i] === 1) {
      events++;
      if (c !== 'low') eventsNotLow++;
    } else if (c === 'low') nonEventsLow++;
  });
  const n = classes.length;
  return {
    counts,
    ruleOutSensitivity: proportion(eventsNotLow, events),
    ruleOutNpv: proportion(nonEventsLow, counts.low),
    ruledOut: proportion(counts.low, n),
    greyZone: proportion(counts.intermediate, n),
  };
}

function component(n: number, up: number, down: number, sign: 1 | -1): NriComponent {
  if (n === 0) return { n, up, down, nri: 0, se: 0, ci95: [0, 0] };
  const pUp = up / n;
  const pDown = down / n;
  const nri = sign * (pUp - pDown);
  const se = Math.sqrt(Math.max(0, pUp + pDown - (pUp - pDown) ** 2) / n);
  return { n, up, down, nri, se, ci95: [nri - Z_975 * se, nri + Z_975 * se] };
}

/** Compares two classifications of the same cases (ptp[i], combined[i], outcome y[i]). */
export function reclassification(
  ptp: readonly Stratum[],
  combined: readonly Stratum[],
  y: ArrayLike<number>,
): ReclassificationSummary {
  if (ptp.length !== combined.length || ptp.length !== y.length) {
    throw new RangeError('ptp, combined and y must have the same length');
  }
  const table = { events: emptyTable(), nonEvents: emptyTable() };
  const moves = { events: { n: 0, up: 0, down: 0 }, nonEvents: { n: 0, up: 0, down: 0 } };
  ptp.forEach((from, i) => {
    const to = combined[i] as Stratum;
    const group = y[i] === 1 ? 'events' : 'nonEvents';
    table[group][from][to]++;
    const m = moves[group];
    m.n++;
    if (RANK[to] > RANK[from]) m.up++;
    else if (RANK[to] < RANK[from]) m.down++;
  });
  const events = component(moves.events.n, moves.events.up, moves.events.down, 1);
  const nonEvents = component(moves.nonEvents.n, moves.nonEvents.up, moves.nonEvents.down, -1);
  const total = events.nri + nonEvents.nri;
  const se = Math.sqrt(events.se ** 2 + nonEvents.se ** 2);
  const z = se > 0 ? total / se : 0;
  return {
    n: ptp.length,
    events: moves.events.n,
    ptp: strategy(ptp, y),
    combined: strategy(combined, y),
    table,
    nri: {
      events,
      nonEvents,
      total: {
        nri: total,
        se,
        ci95: [total - Z_975 * se, total + Z_975 * se],
        z,
        pValue: se > 0 ? erfc(Math.abs(z) / Math.SQRT2) : 1,
      },
      method:
        'categorical NRI (Pencina 2008); 95 % Wald CIs with variance (P(up) + P(down) - (P(up) - P(down))^2) / n per group',
    },
  };
}
