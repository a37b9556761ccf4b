import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ecg, STANDARD_LEADS, sampleCount } from './ecg.js';
import { inputStats, kernelLayout, leadPassJs, QUALITY_REASON_CODES, qualityReasonCode } from './input-stats.js';
import { DEFAULT_INPUT_SPEC } from './model-input.js';
import { assessQuality } from './quality.js';
import { simdKernels, withoutSimd } from './simd-kernels.js';
import { synthesizeEcg } from './synth/index.js';

describe('inputStats', () => {
  it('reports rate, duration and no derived leads for a full 12-lead record', () => {
    const s = inputStats(synthesizeEcg({ sampleRateHz: 500, durationS: 10 }));
    expect(s.sampleRateHz).toBe(500);
    expect(s.durationS).toBe(10);
    expect(s.derivedLeadShare).toBe(0);
    expect(s.amplitudeMv).toBeGreaterThan(0.05);
    expect(s.amplitudeMv).toBeLessThan(2);
  });

  it('tracks muscle noise and baseline wander separately', () => {
    const quiet = { baselineWanderUv: 0, mainsUv: 0, muscleUv: 5 };
    const base = inputStats(synthesizeEcg({ seed: 3, noise: quiet }));
    const noisy = inputStats(synthesizeEcg({ seed: 3, noise: { ...quiet, muscleUv: 40 } }));
    const wandering = inputStats(synthesizeEcg({ seed: 3, noise: { ...quiet, baselineWanderUv: 300 } }));
    // The second-difference estimate recovers the white-noise SD within a few uV (the signal adds a little).
    expect(noisy.noiseUv).toBeGreaterThan(35);
    expect(noisy.noiseUv).toBeLessThan(50);
    expect(base.noiseUv).toBeLessThan(12);
    expect(noisy.baselineWanderUv).toBeLessThan(base.baselineWanderUv + 10);
    expect(wandering.baselineWanderUv).toBeGreaterThan(base.baselineWanderUv + 50);
    expect(Math.abs(noisy.amplitudeMv - base.amplitudeMv) / base.amplitudeMv).toBeLessThan(0.05);
    expect(Math.abs(wandering.noiseUv - base.noiseUv)).toBeLessThan(3);
  });

  it('counts absent standard leads as derived', () => {
    const ecg = synthesizeEcg();
    const { III: _3, aVR: _r, aVL: _l, aVF: _f, ...leads } = ecg.leads;
    expect(inputStats({ ...ecg, leads }).derivedLeadShare).toBeCloseTo(4 / 12, 12);
  });

  it('never throws on an empty or broken record', () => {
    const ecg = synthesizeEcg();
    expect(inputStats({ ...ecg, leads: {} })).toMatchObject({ amplitudeMv: 0, derivedLeadShare: 1 });
    const broken = Float32Array.from(ecg.leads.I as Float32Array);
    broken[10] = Number.NaN;
    expect(Number.isFinite(inputStats({ ...ecg, leads: { ...ecg.leads, I: broken } }).noiseUv)).toBe(true);
  });
});

/** The statistics as docs/MONITORING.md defines them, written plainly (sorts, no selection, no shared scratch). */
function referenceStats(ecg: Ecg): { amplitudeMv: number; noiseUv: number; baselineWanderUv: number } {
  const n = Math.min(sampleCount(ecg), Math.ceil(10 * ecg.sampleRateHz));
  const second = Math.round(ecg.sampleRateHz);
  const upperMedian = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1] as number;
  const median = (v: number[]): number => {
    const s = [...v].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  };
  const sds: number[] = [];
  const noises: number[] = [];
  const wanders: number[] = [];
  for (const name of STANDARD_LEADS) {
    const x = Array.from((ecg.leads[name] as Float32Array).subarray(0, n));
    let sum = 0;
    let squares = 0;
    for (const v of x) {
      sum += v;
      squares += v * v;
    }
    const d2 = x.slice(1, -1).map((v, i) => Math.abs((x[i + 2] as number) - 2 * v + (x[i] as number)));
    const noise = upperMedian(d2) / (0.6745 * Math.sqrt(6));
    noises.push(noise);
    sds.push(Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2 - noise * noise)));
    const means: number[] = [];
    for (let w = 0; (w + 1) * second <= n; w++) {
      let s = 0;
      for (let i = w * second; i < (w + 1) * second; i++) s += x[i] as number;
      means.push(s / second);
    }
    const wm = means.reduce((a, b) => a + b, 0) / means.length;
    wanders.push(Math.sqrt(means.reduce((a, b) => a + (b - wm) ** 2, 0) / means.length));
  }
  return { amplitudeMv: median(sds) / 1000, noiseUv: median(noises), baselineWanderUv: median(wanders) };
}

describe('inputStats against the plain definition', () => {
  const quantised = (ecg: Ecg): Ecg => ({
    ...ecg,
    // Whole microvolts, as DICOM integer samples decode: many equal second differences (ties for the selection).
    leads: Object.fromEntries(Object.entries(ecg.leads).map(([k, v]) => [k, (v as Float32Array).map(Math.round)])),
  });
  const cases: Array<[string, Ecg]> = [
    ['500 Hz, 10 s', synthesizeEcg({ seed: 11 })],
    ['250 Hz, 7.3 s (a partial last second)', synthesizeEcg({ seed: 12, sampleRateHz: 250, durationS: 7.3 })],
    ['1000 Hz, 12 s (cut to 10 s)', synthesizeEcg({ seed: 13, sampleRateHz: 1000, durationS: 12 })],
    ['257 Hz, 6.1 s (windows of an odd length)', synthesizeEcg({ seed: 16, sampleRateHz: 257, durationS: 6.1 })],
    ['quantised to whole uV', quantised(synthesizeEcg({ seed: 14, fast: true }))],
    ['noisy and wandering', synthesizeEcg({ seed: 15, noise: { baselineWanderUv: 300, mainsUv: 20, muscleUv: 40 } })],
  ];
  it.each(cases)('gives the same numbers as the plain definition: %s', (_, ecg) => {
    const fast = inputStats(ecg);
    const plain = referenceStats(ecg);
    expect(fast.noiseUv).toBeCloseTo(plain.noiseUv, 9);
    expect(fast.amplitudeMv).toBeCloseTo(plain.amplitudeMv, 12);
    expect(fast.baselineWanderUv).toBeCloseTo(plain.baselineWanderUv, 9);
  });

  // A lead with a few large spikes: the bins span up to them, so the median's bin holds many values.
  const spiky = (ecg: Ecg): Ecg => ({
    ...ecg,
    leads: Object.fromEntries(
      Object.entries(ecg.leads).map(([k, v]) => [k, (v as Float32Array).map((x, i) => (i % 997 === 5 ? x + 9000 : x))]),
    ),
  });
  it.each([
    ...cases,
    ['quantised, with spikes', spiky(quantised(synthesizeEcg({ seed: 17, fast: true })))] as [string, Ecg],
  ])('gives exactly the same numbers with the WebAssembly kernel as without: %s', (_, ecg) => {
    expect(simdKernels()).toBeDefined();
    expect(inputStats(ecg)).toEqual(withoutSimd(() => inputStats(ecg)));
  });

  it('gives exactly the same numbers with the WebAssembly kernel as without on fuzzed integer leads (ties, any length)', () => {
    // Few distinct second differences (the median's bin then holds many of them), lengths that leave every
    // remainder of the kernels' groups of four and eight.
    fc.assert(
      fc.property(
        fc.integer({ min: 300, max: 5011 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(2.5, 4.88, 1),
        fc.integer({ min: 0, max: 1000 }),
        (n, range, factor, seed) => {
          let x = seed;
          const leads = Object.fromEntries(
            STANDARD_LEADS.map((name) => [
              name,
              Float32Array.from({ length: n }, () => {
                x = (x * 1103515245 + 12345) % 2147483648;
                return ((x >> 8) % (2 * range + 1)) * factor - range * factor;
              }),
            ]),
          );
          const ecg = { ...synthesizeEcg({ seed: 3, fast: true }), sampleRateHz: 500, leads } as Ecg;
          expect(inputStats(ecg)).toEqual(withoutSimd(() => inputStats(ecg)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("runs the WebAssembly pass exactly as the JavaScript one: sums, differences, largest difference, windows' means", () => {
    const kernel = simdKernels();
    if (!kernel) throw new Error('WebAssembly SIMD missing');
    let seed = 3;
    for (const [n, second] of [
      [5000, 500],
      [5001, 500],
      [1567, 257],
      [301, 3],
      [9, 1],
      [1, 500],
      [4, 2],
    ] as const) {
      const x = Float32Array.from({ length: n + 3 }, () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return (seed / 2147483648 - 0.5) * 10 ** (-6 + (seed % 17));
      });
      const plain = new Float64Array(n);
      const js = leadPassJs(x, n, second, plain);
      const { samplesAt, windowsAt, size } = kernelLayout(n, second);
      const w = kernel.workspace(size);
      w.fill(Number.NaN);
      const found = kernel.leadPass(x, n, second, samplesAt, windowsAt);
      expect([found.sum, found.squares, found.maxDifference]).toEqual([js.sum, js.squares, js.maxDifference]);
      expect(Array.from(w.subarray(windowsAt, windowsAt + found.windows))).toEqual(js.windowMeans);
      expect(Array.from(w.subarray(0, n))).toEqual(Array.from(plain));
    }
  });

  it('gives exactly the same numbers with the WebAssembly pass as without on random leads of any length and rate', () => {
    // Wide-ranging values (rounding shows at once if an addition is grouped or ordered differently), leads of
    // uneven lengths (each lead's own n), odd and even windows, a lone last sample, a lead with a NaN.
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const base = synthesizeEcg({ seed: 18 });
    for (const [rate, length] of [
      [500, 5000],
      [257, 1567],
      [3, 301],
      [999.6, 10_001],
      [0, 400],
    ] as const) {
      const leads = Object.fromEntries(
        STANDARD_LEADS.map((name, l) => {
          const n = length - ((l * 37) % 5);
          const lead = Float32Array.from({ length: n }, () => (random() - 0.5) * 10 ** (-6 + 16 * random()));
          if (l === 7) lead[n >> 1] = Number.NaN;
          return [name, lead];
        }),
      );
      const ecg: Ecg = { ...base, sampleRateHz: rate, leads };
      const fast = inputStats(ecg);
      expect(fast).toEqual(withoutSimd(() => inputStats(ecg)));
      expect(Number.isFinite(fast.noiseUv) && fast.noiseUv > 0).toBe(true);
    }
  });

  it('reads a lead of one constant value as no noise, and a lone spike as no noise either', () => {
    const ecg = synthesizeEcg({ seed: 16 });
    const flat = new Float32Array(5000).fill(120);
    const spike = new Float32Array(5000);
    spike[2500] = 4000;
    const leads = Object.fromEntries(STANDARD_LEADS.map((k, i) => [k, i % 2 ? flat : spike]));
    expect(inputStats({ ...ecg, leads }).noiseUv).toBe(0);
    expect(referenceStats({ ...ecg, leads }).noiseUv).toBe(0);
  });
});

describe('qualityReasonCode', () => {
  it('gives every reason the gate writes a code of its own', () => {
    const ecg = synthesizeEcg();
    const cases = [
      { ...ecg, sampleRateHz: 20 },
      { ...ecg, leads: {} },
      synthesizeEcg({ flatLeads: ['V3'] }),
      synthesizeEcg({ durationS: 3 }),
      { ...ecg, leads: { I: ecg.leads.I as Float32Array } },
    ];
    const codes = cases.flatMap((c) => assessQuality(c, DEFAULT_INPUT_SPEC).reasons.map(qualityReasonCode));
    expect(codes).toEqual(
      expect.arrayContaining(['sample-rate', 'no-samples', 'flat-leads', 'too-short', 'missing-leads']),
    );
    expect(codes).not.toContain('other');
    expect(qualityReasonCode('something new')).toBe('other');
    expect(new Set(QUALITY_REASON_CODES).size).toBe(QUALITY_REASON_CODES.length);
  });
});
