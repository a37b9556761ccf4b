import { describe, expect, it } from 'vitest';
import { inShadowSample, shadowSampleKey } from './shadow-sample.js';

describe('inShadowSample', () => {
  const ids = Array.from({ length: 4000 }, (_, i) => `1.2.826.0.1.3680043.8.498.${i}`);

  it('takes every ECG at fraction 1 and none at 0', () => {
    expect(ids.every((id) => inShadowSample(id, 1))).toBe(true);
    expect(ids.some((id) => inShadowSample(id, 0))).toBe(false);
  });

  it('picks the same ECGs every time (a replay scores the same set)', () => {
    const first = ids.filter((id) => inShadowSample(id, 0.3));
    const again = ids.filter((id) => inShadowSample(id, 0.3));
    expect(again).toEqual(first);
  });

  it('picks about the fraction asked for, and a larger fraction keeps the smaller one’s ECGs', () => {
    const small = ids.filter((id) => inShadowSample(id, 0.25));
    const large = new Set(ids.filter((id) => inShadowSample(id, 0.5)));
    expect(small.length / ids.length).toBeGreaterThan(0.22);
    expect(small.length / ids.length).toBeLessThan(0.28);
    expect(small.every((id) => large.has(id))).toBe(true);
  });

  it('keys lie in [0, 1) and depend on the id', () => {
    const keys = ids.slice(0, 100).map(shadowSampleKey);
    expect(keys.every((k) => k >= 0 && k < 1)).toBe(true);
    expect(new Set(keys).size).toBe(100);
  });
});
