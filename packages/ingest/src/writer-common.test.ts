import { synthesizeEcg } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { EIGHT_LEAD_SET, leadsToWrite, timestampParts } from './writer-common.js';

describe('timestampParts', () => {
  it('converts a zoned instant to UTC and marks it +0000', () => {
    expect(timestampParts('2026-03-04T05:06:07.089+02:00')).toEqual({
      date: '20260304',
      time: '030607',
      millis: '089',
      zone: '+0000',
    });
    expect(timestampParts('2026-12-31T23:59:59.500Z', 1000).date).toBe('20270101');
  });

  it('keeps a zone-less wall-clock time as it is, without a zone', () => {
    expect(timestampParts('2002-11-22T09:10:00')).toEqual({
      date: '20021122',
      time: '091000',
      millis: '000',
      zone: undefined,
    });
    expect(timestampParts('2002-11-22T09:10:05.25', 10_000)).toEqual({
      date: '20021122',
      time: '091015',
      millis: '250',
      zone: undefined,
    });
    expect(timestampParts('2002-11-22').time).toBe('000000');
  });
});

describe('leadsToWrite', () => {
  it('derives missing limb leads for 12 and picks I, II, V1-V6 for 8', () => {
    const ecg = synthesizeEcg({ seed: 1, durationS: 1 });
    const eight = { ...ecg, leads: Object.fromEntries(EIGHT_LEAD_SET.map((l) => [l, ecg.leads[l]])) };
    expect(leadsToWrite(eight, 12, 'dicom').names).toHaveLength(12);
    const derivedIii = leadsToWrite(eight, 12, 'dicom').samples[2] as Float32Array;
    const iii = ecg.leads.III as Float32Array;
    for (let k = 0; k < iii.length; k += 10) expect(derivedIii[k]).toBeCloseTo(iii[k] as number, 3);
    expect(leadsToWrite(ecg, 8, 'dicom').names).toEqual([...EIGHT_LEAD_SET]);
  });
});
