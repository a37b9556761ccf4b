import type { Stratum } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { reclassification } from './reclassification.js';

/** Expands a reclassification table into per-case arrays: [from, to, events, non-events] rows. */
function cases(rows: Array<[Stratum, Stratum, number, number]>) {
  const ptp: Stratum[] = [];
  const combined: Stratum[] = [];
  const y: number[] = [];
  for (const [from, to, events, nonEvents] of rows) {
    for (let i = 0; i < events + nonEvents; i++) {
      ptp.push(from);
      combined.push(to);
      y.push(i < events ? 1 : 0);
    }
  }
  return { ptp, combined, y };
}

describe('reclassification', () => {
  it('computes NRI for events and non-events by hand-checked counts', () => {
    // 100 events: 20 move up, 5 move down. 400 non-events: 10 up, 60 down.
    const { ptp, combined, y } = cases([
      ['intermediate', 'high', 20, 10],
      ['intermediate', 'low', 5, 60],
      ['intermediate', 'intermediate', 40, 200],
      ['low', 'low', 5, 100],
      ['high', 'high', 30, 30],
    ]);
    const r = reclassification(ptp, combined, y);
    expect(r.n).toBe(500);
    expect(r.events).toBe(100);
    expect(r.nri.events).toMatchObject({ n: 100, up: 20, down: 5 });
    expect(r.nri.events.nri).toBeCloseTo(0.15, 15);
    expect(r.nri.nonEvents.nri).toBeCloseTo(50 / 400, 15);
    expect(r.nri.total.nri).toBeCloseTo(0.275, 15);
    // SE events: sqrt((0.25 - 0.15^2) / 100); non-events: sqrt((0.175 - 0.125^2) / 400).
    expect(r.nri.events.se).toBeCloseTo(Math.sqrt((0.25 - 0.0225) / 100), 15);
    expect(r.nri.nonEvents.se).toBeCloseTo(Math.sqrt((0.175 - 0.015625) / 400), 15);
    const se = Math.sqrt((0.25 - 0.0225) / 100 + (0.175 - 0.015625) / 400);
    expect(r.nri.total.se).toBeCloseTo(se, 15);
    expect(r.nri.total.ci95[0]).toBeCloseTo(0.275 - 1.959963984540054 * se, 12);
    expect(r.nri.total.pValue).toBeLessThan(1e-4);
    expect(r.table.events.intermediate.high).toBe(20);
    expect(r.table.nonEvents.intermediate.low).toBe(60);
  });

  it('summarises rule-out sensitivity, NPV and the grey zone of each strategy', () => {
    const { ptp, combined, y } = cases([
      ['intermediate', 'low', 2, 48],
      ['intermediate', 'intermediate', 8, 12],
      ['low', 'low', 1, 29],
    ]);
    const r = reclassification(ptp, combined, y);
    // PTP: low = 30 cases (1 event); combined: low = 80 cases (3 events).
    expect(r.ptp.counts).toEqual({ low: 30, intermediate: 70, high: 0 });
    expect(r.ptp.ruleOutSensitivity.value).toBeCloseTo(10 / 11, 15);
    expect(r.ptp.ruleOutNpv.value).toBeCloseTo(29 / 30, 15);
    expect(r.ptp.greyZone.value).toBeCloseTo(0.7, 15);
    expect(r.combined.ruleOutSensitivity.value).toBeCloseTo(8 / 11, 15);
    expect(r.combined.ruleOutNpv.value).toBeCloseTo(77 / 80, 15);
    expect(r.combined.greyZone.value).toBeCloseTo(0.2, 15);
    expect(r.combined.ruledOut.value).toBeCloseTo(0.8, 15);
  });

  it('is zero with no reclassification, and refuses arrays of different lengths', () => {
    const classes: Stratum[] = ['low', 'high', 'intermediate', 'high'];
    const r = reclassification(classes, classes, [0, 1, 0, 1]);
    expect(r.nri.total).toMatchObject({ nri: 0, se: 0, pValue: 1 });
    expect(() => reclassification(classes, classes.slice(1), [0, 1, 0, 1])).toThrow(RangeError);
  });
});
