import { describe, expect, it } from 'vitest';
import { kaplanMeier, logRankTest } from './survival.js';

// Freireich et al. 1963 (Blood 21:699): weeks in remission of 42 children with acute leukaemia, 6-MP vs placebo
// (R's MASS::gehan; the worked example of Kleinbaum & Klein, Survival Analysis: A Self-Learning Text, ch. 1-2).
// 0 = censored (+).
const MP6_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35];
const MP6_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0];
const PLACEBO_TIME = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23];

describe('kaplanMeier', () => {
  it('reproduces the 6-MP arm of Freireich 1963 (survfit: S and Greenwood SE at each event time)', () => {
    const curve = kaplanMeier(MP6_TIME, MP6_EVENT);
    const atEvents = curve.steps.filter((s) => s.events > 0);
    // Published values (Kleinbaum & Klein table 2; R survfit): time, n.risk, n.event, survival, std.err.
    const expected: Array<[number, number, number, number, number]> = [
      [6, 21, 3, 0.8571, 0.0764],
      [7, 17, 1, 0.8067, 0.0869],
      [10, 15, 1, 0.7529, 0.0963],
      [13, 12, 1, 0.6902, 0.1068],
      [16, 11, 1, 0.6275, 0.114],
      [22, 7, 1, 0.5378, 0.1282],
      [23, 6, 1, 0.4482, 0.1346],
    ];
    expect(atEvents).toHaveLength(expected.length);
    atEvents.forEach((s, i) => {
      const [time, atRisk, events, survival, se] = expected[i] as [number, number, number, number, number];
      expect([s.time, s.atRisk, s.events]).toEqual([time, atRisk, events]);
      expect(s.survival).toBeCloseTo(survival, 4);
      expect(s.se).toBeCloseTo(se, 3);
      expect(s.ci95[0]).toBeLessThan(s.survival);
      expect(s.ci95[1]).toBeGreaterThan(s.survival);
    });
    expect(curve.n).toBe(21);
    expect(curve.events).toBe(9);
    expect(curve.steps.at(-1)?.survival).toBeCloseTo(0.4482, 4);
  });

  it('falls to 0 when the last case has the event (placebo arm: everyone relapsed)', () => {
    const curve = kaplanMeier(PLACEBO_TIME, new Array(21).fill(1));
    expect(curve.steps.at(-1)?.survival).toBe(0);
    expect(curve.steps[0]).toMatchObject({ time: 1, atRisk: 21, events: 2 });
    expect(curve.steps[0]?.survival).toBeCloseTo(19 / 21, 12);
  });
});

describe('logRankTest', () => {
  it('gives chi-square 16.79 (1 df) on Freireich 1963, as Kleinbaum & Klein and R survdiff report', () => {
    const time = [...MP6_TIME, ...PLACEBO_TIME];
    const event = [...MP6_EVENT, ...new Array(21).fill(1)];
    const group = [...new Array(21).fill(0), ...new Array(21).fill(1)];
    const test = logRankTest(time, event, group);
    // survdiff(Surv(time, cens) ~ treat, gehan): O 9 / 21, E 19.25 / 10.75, Chisq = 16.8, p = 4.17e-05.
    expect(test.observed).toEqual([9, 21]);
    expect(test.expected[0]).toBeCloseTo(19.25, 2);
    expect(test.expected[1]).toBeCloseTo(10.75, 2);
    expect(test.chiSquare).toBeCloseTo(16.79, 2);
    expect(test.df).toBe(1);
    expect(test.pValue).toBeCloseTo(4.17e-5, 6);
  });

  it('is symmetric in the group labels and near 0 for identical groups', () => {
    const time = [...MP6_TIME, ...MP6_TIME];
    const event = [...MP6_EVENT, ...MP6_EVENT];
    const group = [...new Array(21).fill(0), ...new Array(21).fill(1)];
    const same = logRankTest(time, event, group);
    expect(same.chiSquare).toBeCloseTo(0, 12);
    expect(same.pValue).toBeCloseTo(1, 12);
    const a = logRankTest([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1]);
    const b = logRankTest([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]);
    expect(a.chiSquare).toBeCloseTo(b.chiSquare, 12);
  });
});
