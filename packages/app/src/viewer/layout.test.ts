import { describe, expect, it } from 'vitest';
import {
  CSS_PX_PER_MM,
  calibrationPulse,
  mmToMs,
  mmToMv,
  PAPER,
  PAPER_WIDTH_MM,
  reportSlots,
  rowBaselineMm,
  sampleRange,
  TRACE_X0_MM,
  timeToXMm,
  tracePath,
  uvToYMm,
} from './layout.js';

/** Points of a path "M x y L x y ..." as [x, y] pairs. */
function points(d: string): [number, number][] {
  return [...d.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

describe('paper scale', () => {
  it('is 25 mm/s and 10 mm/mV: 1 mm = 40 ms = 0.1 mV', () => {
    expect(timeToXMm(1) - timeToXMm(0)).toBe(25);
    expect(mmToMs(1)).toBe(40);
    expect(mmToMv(1)).toBeCloseTo(0.1, 12);
    expect(uvToYMm(1000, 50)).toBe(40);
    expect(uvToYMm(-500, 50)).toBe(55);
  });

  it('uses CSS millimetres by default (96 px per 25.4 mm)', () => {
    expect(CSS_PX_PER_MM * 25.4).toBeCloseTo(96, 12);
  });

  it('has a calibration pulse of 1 mV x 0.2 s = 10 mm high, 5 mm wide, standing on the baseline', () => {
    const p = calibrationPulse(60);
    expect(p).toEqual({ xMm: PAPER.marginMm + 2, widthMm: 5, topMm: 50, heightMm: 10 });
    expect(p.xMm + p.widthMm).toBeLessThan(TRACE_X0_MM);
  });

  it('fits 10 s of trace plus the calibration zone on the page', () => {
    expect(PAPER_WIDTH_MM).toBe(TRACE_X0_MM + 250 + PAPER.marginMm);
    expect(PAPER_WIDTH_MM).toBeLessThanOrEqual(279.4 - 10); // Letter landscape with 5 mm margins
  });
});

describe('report layout', () => {
  const slots = reportSlots(10);

  it('puts I, II, III | aVR, aVL, aVF | V1-V3 | V4-V6 in 2.5 s columns of the same 10 s', () => {
    const grid = slots.filter((s) => s.row < 3);
    expect(grid).toHaveLength(12);
    const columns = [0, 1, 2, 3].map((c) => grid.filter((s) => s.column === c).map((s) => s.lead));
    expect(columns).toEqual([
      ['I', 'II', 'III'],
      ['aVR', 'aVL', 'aVF'],
      ['V1', 'V2', 'V3'],
      ['V4', 'V5', 'V6'],
    ]);
    for (const s of grid) {
      expect([s.startS, s.endS]).toEqual([s.column * 2.5, s.column * 2.5 + 2.5]);
      expect(s.xMm).toBe(TRACE_X0_MM + s.column * 62.5);
    }
  });

  it('adds a 10 s lead II rhythm strip as the fourth row', () => {
    const rhythm = slots.filter((s) => s.row === 3);
    expect(rhythm).toEqual([expect.objectContaining({ lead: 'II', startS: 0, endS: 10, xMm: TRACE_X0_MM })]);
    expect(rhythm[0]!.baselineMm).toBe(rowBaselineMm(3));
  });

  it('puts every baseline and the trace start on a 5 mm line', () => {
    for (let row = 0; row < 4; row++) expect(rowBaselineMm(row) % 5).toBe(0);
    expect(TRACE_X0_MM % 5).toBe(0);
  });

  it('shortens the columns of a record shorter than 10 s', () => {
    const short = reportSlots(6);
    expect(short.find((s) => s.lead === 'V1')).toMatchObject({ startS: 5, endS: 6 });
    expect(short.find((s) => s.lead === 'V4')).toMatchObject({ startS: 7.5, endS: 7.5 });
    expect(short.find((s) => s.row === 3)).toMatchObject({ endS: 6 });
  });
});

describe('samples to paper', () => {
  it('slices a column by time, one sample past the end so adjacent columns meet', () => {
    expect(sampleRange(2.5, 5, 500, 5000)).toEqual([1250, 2501]);
    expect(sampleRange(7.5, 10, 500, 5000)).toEqual([3750, 5000]);
    expect(sampleRange(0, 2.5, 500, 100)).toEqual([0, 100]);
  });

  it('draws every sample when they are sparser than the pixels', () => {
    const samples = new Float32Array([0, 1000, -500, 0]);
    const d = tracePath(samples, 0, 4, 100, 10, 50, CSS_PX_PER_MM); // 100 Hz: 0.25 mm = 0.94 px per sample
    expect(points(d)).toEqual([
      [10, 50],
      [10.25, 40],
      [10.5, 55],
      [10.75, 50],
    ]);
  });

  it('decimates dense samples per pixel column and keeps every peak', () => {
    const n = 5000;
    const samples = new Float32Array(n);
    for (let k = 0; k < n; k++) samples[k] = 100 * Math.sin(k / 50);
    samples[1234] = 1500; // a spike
    samples[3210] = -900;
    const d = tracePath(samples, 0, n, 500, 0, 50, CSS_PX_PER_MM); // 500 Hz: 5.3 samples per px
    const pts = points(d);
    expect(pts.length).toBeLessThan(n);
    expect(pts.length).toBeGreaterThan(n / 6);
    const ys = pts.map((p) => p[1]);
    expect(Math.min(...ys)).toBe(uvToYMm(1500, 50));
    expect(Math.max(...ys)).toBe(uvToYMm(-900, 50));
    const xs = pts.map((p) => p[0]);
    expect(xs.every((x, i) => i === 0 || x >= xs[i - 1]!)).toBe(true);
  });

  it('breaks the line at NaN', () => {
    const d = tracePath(new Float32Array([0, Number.NaN, 0, 0]), 0, 4, 100, 0, 50, CSS_PX_PER_MM);
    expect(d.match(/M/g)).toHaveLength(2);
  });
});
