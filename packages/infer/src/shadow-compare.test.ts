import type { Stratum, Vessel } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { cohensKappa, compareShadow, latestPerEcg, type ShadowRecord, stratumChange } from './shadow-compare.js';

function record(ecgId: string, pairs: Array<[Vessel, number, Stratum, number, Stratum]>, written = true): ShadowRecord {
  return {
    ecgId,
    at: '2026-12-01T00:00:00.000Z',
    written,
    live: { model: 'm@1', vessels: pairs.map(([vessel, probability, stratum]) => ({ vessel, probability, stratum })) },
    shadow: {
      model: 'm@2',
      vessels: pairs.map(([vessel, , , probability, stratum]) => ({ vessel, probability, stratum })),
    },
  };
}

describe('stratumChange', () => {
  it('tells up from down', () => {
    expect(stratumChange('low', 'low')).toBe('same');
    expect(stratumChange('low', 'high')).toBe('up');
    expect(stratumChange('high', 'intermediate')).toBe('down');
  });
});

describe('cohensKappa', () => {
  it('is 1 on perfect agreement, 0 at chance, matches a worked example', () => {
    expect(
      cohensKappa([
        [5, 0, 0],
        [0, 3, 0],
        [0, 0, 2],
      ]),
    ).toBe(1);
    // Independent margins: observed = expected agreement.
    expect(
      cohensKappa([
        [1, 1],
        [1, 1],
      ]),
    ).toBeCloseTo(0, 12);
    // Worked 2x2: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4.
    expect(
      cohensKappa([
        [20, 5],
        [10, 15],
      ]),
    ).toBeCloseTo(0.4, 12);
    expect(
      cohensKappa([
        [0, 0],
        [0, 0],
      ]),
    ).toBeUndefined();
    expect(
      cohensKappa([
        [4, 0],
        [0, 0],
      ]),
    ).toBeUndefined();
  });
});

describe('compareShadow', () => {
  it('fills the live x shadow matrix, agreement, mean |dp| and the changed written results per direction', () => {
    const records = [
      record('a', [
        ['LAD', 0.1, 'low', 0.2, 'intermediate'],
        ['RCA', 0.5, 'high', 0.45, 'high'],
      ]),
      record('b', [
        ['LAD', 0.5, 'high', 0.3, 'intermediate'],
        ['RCA', 0.05, 'low', 0.05, 'low'],
      ]),
      record(
        'c',
        [
          ['LAD', 0.2, 'intermediate', 0.2, 'intermediate'],
          ['RCA', 0.3, 'intermediate', 0.6, 'high'],
        ],
        false,
      ),
    ];
    const result = compareShadow(records);
    expect(result.ecgs).toBe(3);
    expect(result.live).toEqual(['m@1']);
    expect(result.shadow).toEqual(['m@2']);
    const lad = result.vessels.find((v) => v.vessel === 'LAD');
    expect(lad?.matrix).toEqual([
      [0, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
    expect(lad?.n).toBe(3);
    expect(lad?.agreement).toBeCloseTo(1 / 3, 12);
    expect(lad?.meanAbsDiff).toBeCloseTo((0.1 + 0.2 + 0) / 3, 12);
    expect(lad?.written).toEqual({ n: 2, changed: 2, up: 1, down: 1 });
    const rca = result.vessels.find((v) => v.vessel === 'RCA');
    expect(rca?.agreement).toBeCloseTo(2 / 3, 12);
    // c moved up on RCA but was not written: it is not a written result that would have changed.
    expect(rca?.written).toEqual({ n: 2, changed: 0, up: 0, down: 0 });
    expect(result.written).toEqual({ n: 2, changed: 2 });
  });

  it('counts an ECG recorded twice (replay, retry) once, with its last record', () => {
    const first = record('a', [['LM', 0.1, 'low', 0.4, 'high']], false);
    const again = record('a', [['LM', 0.1, 'low', 0.1, 'low']], true);
    expect(latestPerEcg([first, again])).toEqual([again]);
    const result = compareShadow([first, again]);
    expect(result.ecgs).toBe(1);
    expect(result.vessels[0]?.matrix[0]).toEqual([1, 0, 0]);
    expect(result.written).toEqual({ n: 1, changed: 0 });
  });

  it('leaves out vessels only one model scores', () => {
    const r = record('x', [['LM', 0.1, 'low', 0.1, 'low']]);
    r.live.vessels.push({ vessel: 'LCx', probability: 0.9, stratum: 'high' });
    expect(compareShadow([r]).vessels.map((v) => v.vessel)).toEqual(['LM']);
  });
});
