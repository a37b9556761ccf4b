/**
 * Kaplan-Meier survival curves (Kaplan & Meier 1958, JASA 53:457) with Greenwood standard errors, and the two-group
 * log-rank test (Mantel 1966; Peto & Peto 1972) with the hypergeometric variance, as R's survival::survdiff.
 */
import erfc from '@stdlib/math-base-special-erfc';
import { Z_975 } from '../delong.js';

/** One step of a Kaplan-Meier curve: at `time`, `events` events among `atRisk`, then `censored` censored. */
export interface KaplanMeierStep {
  time: number;
  atRisk: number;
  events: number;
  censored: number;
  /** S(t) just after `time`. */
  survival: number;
  /** Greenwood standard error of S(t). */
  se: number;
  /** 95 % interval of S(t) on the log scale (R's survfit default, conf.type "log"), capped at 1. */
  ci95: [number, number];
}

/** A Kaplan-Meier curve: n, total events, and one step per distinct time with an event or a censoring. */
export interface KaplanMeierCurve {
  n: number;
  events: number;
  steps: KaplanMeierStep[];
}

function checkFollowUp(time: ArrayLike<number>, event: ArrayLike<number>): void {
  if (time.length !== event.length) throw new RangeError('time and event must have the same length');
  for (let i = 0; i < time.length; i++) {
    if (!((time[i] as number) >= 0)) throw new RangeError(`follow-up time ${i} is not a number >= 0`);
    if (event[i] !== 0 && event[i] !== 1) throw new RangeError(`event ${i} must be 0 or 1`);
  }
}

/** Distinct times ascending with the events and censorings at each. */
function tally(time: ArrayLike<number>, event: ArrayLike<number>): Array<{ time: number; d: number; c: number }> {
  const byTime = new Map<number, { time: number; d: number; c: number }>();
  for (let i = 0; i < time.length; i++) {
    const t = time[i] as number;
    let entry = byTime.get(t);
    if (!entry) {
      entry = { time: t, d: 0, c: 0 };
      byTime.set(t, entry);
    }
    if (event[i] === 1) entry.d++;
    else entry.c++;
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/**
 * The Kaplan-Meier estimate. Events and censorings at the same time: the censored cases count as at risk at that
 * time (the usual convention). S(t) = prod (1 - d_i / n_i); Greenwood: var S = S^2 sum d_i / (n_i (n_i - d_i)).
 */
export function kaplanMeier(time: ArrayLike<number>, event: ArrayLike<number>): KaplanMeierCurve {
  checkFollowUp(time, event);
  let atRisk = time.length;
  let survival = 1;
  let greenwood = 0;
  let events = 0;
  const steps: KaplanMeierStep[] = [];
  for (const { time: t, d, c } of tally(time, event)) {
    if (d > 0) {
      survival *= 1 - d / atRisk;
      greenwood += atRisk > d ? d / (atRisk * (atRisk - d)) : Number.POSITIVE_INFINITY;
    }
    events += d;
    const seLog = Math.sqrt(greenwood);
    const ci95: [number, number] =
      survival > 0 && Number.isFinite(seLog)
        ? [survival * Math.exp(-Z_975 * seLog), Math.min(1, survival * Math.exp(Z_975 * seLog))]
        : [0, 0];
    steps.push({
      time: t,
      atRisk,
      events: d,
      censored: c,
      survival,
      se: Number.isFinite(seLog) ? survival * seLog : 0,
      ci95,
    });
    atRisk -= d + c;
  }
  return { n: time.length, events, steps };
}

/** The two-group log-rank test. */
export interface LogRankTest {
  /** Observed and expected events in group 0 and group 1. */
  observed: [number, number];
  expected: [number, number];
  /** (O1 - E1)^2 / V with V the summed hypergeometric variance. */
  chiSquare: number;
  df: 1;
  /** Upper tail of chi-square with 1 df: erfc(sqrt(chiSquare / 2)). */
  pValue: number;
}

/**
 * Log-rank test of two groups (group[i] 0 or 1). At each distinct event time t with n at risk (n1 in group 1) and
 * d events (d1 in group 1): E1 += d n1 / n, V += d (n1 / n) (1 - n1 / n) (n - d) / (n - 1).
 */
export function logRankTest(time: ArrayLike<number>, event: ArrayLike<number>, group: ArrayLike<number>): LogRankTest {
  checkFollowUp(time, event);
  if (group.length !== time.length) throw new RangeError('group must have the same length as time');
  const g1Time: number[] = [];
  const g1Event: number[] = [];
  for (let i = 0; i < group.length; i++) {
    if (group[i] !== 0 && group[i] !== 1) throw new RangeError(`group ${i} must be 0 or 1`);
    if (group[i] === 1) {
      g1Time.push(time[i] as number);
      g1Event.push(event[i] as number);
    }
  }
  const all = tally(time, event);
  const one = new Map(tally(g1Time, g1Event).map((e) => [e.time, e]));
  let n = time.length;
  let n1 = g1Time.length;
  let o1 = 0;
  let oAll = 0;
  let e1 = 0;
  let v = 0;
  for (const { time: t, d, c } of all) {
    const g = one.get(t);
    const d1 = g?.d ?? 0;
    if (d > 0) {
      e1 += (d * n1) / n;
      if (n > 1) v += (d * (n1 / n) * (1 - n1 / n) * (n - d)) / (n - 1);
    }
    o1 += d1;
    oAll += d;
    n -= d + c;
    n1 -= d1 + (g?.c ?? 0);
  }
  const chiSquare = v > 0 ? ((o1 - e1) * (o1 - e1)) / v : 0;
  return {
    observed: [oAll - o1, o1],
    expected: [oAll - e1, e1],
    chiSquare,
    df: 1,
    pValue: v > 0 ? erfc(Math.sqrt(chiSquare / 2)) : 1,
  };
}
