import { describe, expect, it } from 'vitest';
import { caliperReading, formatReading } from './caliper.js';

describe('caliperReading', () => {
  it('measures time at 40 ms per mm and voltage at 0.1 mV per mm, up positive', () => {
    const r = caliperReading({ xMm: 20, yMm: 60 }, { xMm: 40, yMm: 45 });
    expect(r.dtMs).toBe(800);
    expect(r.dmV).toBeCloseTo(1.5, 12);
    expect(r.ratePerMin).toBe(75);
    expect(formatReading(r)).toBe('\u0394t 800 ms (75 /min if one RR), \u0394V 1.50 mV');
  });

  it('gives no rate for a purely vertical span', () => {
    const r = caliperReading({ xMm: 20, yMm: 60 }, { xMm: 20, yMm: 70 });
    expect(r.dtMs).toBe(0);
    expect(r.dmV).toBeCloseTo(-1, 12);
    expect(r.ratePerMin).toBeUndefined();
    expect(formatReading(r)).toBe('\u0394t 0 ms, \u0394V -1.00 mV');
  });
});
