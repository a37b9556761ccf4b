import { describe, expect, it } from 'vitest';
import type { Ecg } from '../ecg.js';
import { synthesizeEcg } from '../synth/index.js';
import { EcgHandoff } from './handoff.js';

const ecg = (seed: number): Ecg => ({ ...synthesizeEcg({ seed, fast: true }), id: `handoff-${seed}` });
/** 12 leads x 5,000 Float32 samples. */
const BYTES = 12 * 5000 * 4;

describe('EcgHandoff', () => {
  it('gives an ECG to one take, then reads as empty', () => {
    const handoff = new EcgHandoff();
    const first = ecg(1);
    expect(handoff.put('a', first)).toBe(true);
    expect(handoff.bytes).toBe(BYTES);
    expect(handoff.take('b')).toBeUndefined();
    expect(handoff.take('a')).toBe(first);
    expect(handoff.take('a')).toBeUndefined();
    expect(handoff.size).toBe(0);
    expect(handoff.bytes).toBe(0);
  });

  it('when full, keeps what it holds (taken next) and refuses the newcomer', () => {
    const handoff = new EcgHandoff({ maxBytes: 2 * BYTES });
    const [a, b, c] = [ecg(1), ecg(2), ecg(3)];
    expect(handoff.put('a', a)).toBe(true);
    expect(handoff.put('b', b)).toBe(true);
    expect(handoff.put('c', c)).toBe(false);
    expect(handoff.take('c')).toBeUndefined();
    expect(handoff.take('a')).toBe(a);
    expect(handoff.put('c', c)).toBe(true);
    expect(handoff.bytes).toBe(2 * BYTES);
  });

  it('a second put under one key replaces the first; remove drops it', () => {
    const handoff = new EcgHandoff();
    const [a, b] = [ecg(1), ecg(2)];
    handoff.put('k', a);
    handoff.put('k', b);
    expect(handoff.size).toBe(1);
    expect(handoff.bytes).toBe(BYTES);
    handoff.remove('k');
    expect(handoff.take('k')).toBeUndefined();
    expect(handoff.bytes).toBe(0);
  });

  it('drops entries older than maxAgeMs (their write ran elsewhere), freeing their room', () => {
    let now = 1_000;
    const handoff = new EcgHandoff({ maxBytes: 2 * BYTES, maxAgeMs: 100, now: () => now });
    handoff.put('old', ecg(1));
    now += 60;
    handoff.put('newer', ecg(2));
    now += 50; // 'old' is 110 ms old, 'newer' 50
    expect(handoff.take('old')).toBeUndefined();
    expect(handoff.size).toBe(1);
    expect(handoff.put('third', ecg(3))).toBe(true);
    expect(handoff.take('newer')).toBeDefined();
  });
});
