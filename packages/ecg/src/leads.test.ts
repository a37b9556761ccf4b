import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LeadName, STANDARD_LEADS } from './ecg.js';
import {
  DERIVED_LIMB_LEADS,
  deriveLimbLead,
  deriveLimbLeads,
  isDerivedLimbLead,
  LIMB_LEAD_WEIGHTS,
  leadFromDicomCode,
  leadFromLabel,
} from './leads.js';

/** Lead numbers shared by SCP-ECG (5.6.3-9-N) and MDC (2:N, 131328 + N). */
const LEAD_NUMBERS: [number, LeadName][] = [
  [1, 'I'],
  [2, 'II'],
  [61, 'III'],
  [62, 'aVR'],
  [63, 'aVL'],
  [64, 'aVF'],
  [3, 'V1'],
  [4, 'V2'],
  [5, 'V3'],
  [6, 'V4'],
  [7, 'V5'],
  [8, 'V6'],
];

describe('leadFromDicomCode', () => {
  it('maps every SCPECG code of the twelve leads', () => {
    for (const [n, lead] of LEAD_NUMBERS) {
      expect(leadFromDicomCode(`5.6.3-9-${n}`, 'SCPECG')).toBe(lead);
      expect(leadFromDicomCode(` 5.6.3-9-${n} `)).toBe(lead);
    }
  });

  it('maps every MDC code: 2:N, the numeric term code 131328 + N, and the reference id', () => {
    for (const [n, lead] of LEAD_NUMBERS) {
      expect(leadFromDicomCode(`2:${n}`, 'MDC')).toBe(lead);
      expect(leadFromDicomCode(String(131328 + n), 'MDC')).toBe(lead);
      expect(leadFromDicomCode(String(131328 + n))).toBe(lead);
    }
    expect(leadFromDicomCode('MDC_ECG_LEAD_AVR', 'MDC')).toBe('aVR');
    expect(leadFromDicomCode('MDC_ECG_LEAD_V3', 'MDC')).toBe('V3');
  });

  it('leaves other channels alone (V7, right-sided, -aVR, unspecified, other schemes)', () => {
    for (const code of ['5.6.3-9-9', '5.6.3-9-11', '5.6.3-9-65', '5.6.3-9-0', '2:0', '2:9', '131328', '5.6.3-9-']) {
      expect(leadFromDicomCode(code, code.startsWith('5') ? 'SCPECG' : 'MDC'), code).toBeUndefined();
    }
    expect(leadFromDicomCode('131329', 'SCPECG')).toBeUndefined();
    expect(leadFromDicomCode('', 'MDC')).toBeUndefined();
  });
});

describe('leadFromLabel', () => {
  it('maps label spellings from aECG, DICOM code meanings and vendor XML', () => {
    const cases: [string, LeadName][] = [
      ['MDC_ECG_LEAD_AVR', 'aVR'],
      ['MDC_ECG_LEAD_aVR', 'aVR'],
      ['mdc_ecg_lead_avl', 'aVL'],
      ['aVR', 'aVR'],
      ['AVR', 'aVR'],
      ['avf', 'aVF'],
      ['Lead II (Einthoven)', 'II'],
      ['Lead I (Einthoven)', 'I'],
      ['Lead aVR (Goldberger)', 'aVR'],
      ['Lead III', 'III'],
      ['lead v1', 'V1'],
      [' V6 ', 'V6'],
      ['MDC_ECG_LEAD_III', 'III'],
    ];
    for (const [label, lead] of cases) expect(leadFromLabel(label), label).toBe(lead);
    for (const lead of STANDARD_LEADS) {
      expect(leadFromLabel(lead)).toBe(lead);
      expect(leadFromLabel(`MDC_ECG_LEAD_${lead.toUpperCase()}`)).toBe(lead);
    }
  });

  it('returns undefined for anything that is not one of the twelve leads', () => {
    for (const label of ['', 'Lead', 'V7', 'V4R', '-aVR', 'MDC_ECG_LEAD_', 'MDC_ECG_LEAD_V7', 'II II', 'Pleth']) {
      expect(leadFromLabel(label), label).toBeUndefined();
    }
  });
});

describe('deriveLimbLeads', () => {
  const signal = (n: number) =>
    fc.array(fc.float({ min: -5000, max: 5000, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n });
  const pair = fc.integer({ min: 1, max: 400 }).chain((n) => fc.tuple(signal(n), signal(n)));

  it('satisfies Einthoven (I + III = II) and Goldberger (aVR + aVL + aVF = 0) to float precision', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const I = Float32Array.from(a);
        const II = Float32Array.from(b);
        const d = deriveLimbLeads({ I, II });
        for (let k = 0; k < I.length; k++) {
          const i = I[k] as number;
          const ii = II[k] as number;
          const eps = 4e-7 * (Math.abs(i) + Math.abs(ii)) + 1e-30;
          expect(Math.abs(i + (d.III?.[k] as number) - ii)).toBeLessThanOrEqual(eps);
          expect(
            Math.abs((d.aVR?.[k] as number) + (d.aVL?.[k] as number) + (d.aVF?.[k] as number)),
          ).toBeLessThanOrEqual(eps);
          // Goldberger's definitions in terms of the limb leads.
          expect(Math.abs((d.aVL?.[k] as number) - (i - (d.III?.[k] as number)) / 2)).toBeLessThanOrEqual(eps);
          expect(Math.abs((d.aVF?.[k] as number) - (ii + (d.III?.[k] as number)) / 2)).toBeLessThanOrEqual(eps);
        }
      }),
    );
  });

  it('keeps stored leads, does not touch its input, and derives nothing without both I and II', () => {
    const I = Float32Array.from([1, 2]);
    const II = Float32Array.from([3, 5]);
    const III = Float32Array.from([9, 9]);
    const input = { I, II, III };
    const out = deriveLimbLeads(input);
    expect(out.III).toBe(III);
    expect(Array.from(out.aVR ?? [])).toEqual([-2, -3.5]);
    expect(Object.keys(input)).toEqual(['I', 'II', 'III']);
    expect(Object.keys(deriveLimbLeads({ I }))).toEqual(['I']);
    expect(Object.keys(deriveLimbLeads({ I, II: Float32Array.from([1]) }))).toEqual(['I', 'II']);
  });
});

describe('deriveLimbLead', () => {
  it('gives the textbook formulas (III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2) bit for bit', () => {
    const textbook = {
      III: (a: number, b: number) => b - a,
      aVR: (a: number, b: number) => -(a + b) / 2,
      aVL: (a: number, b: number) => a - b / 2,
      aVF: (a: number, b: number) => b - a / 2,
    };
    const value = fc.float({ min: -30_000, max: 30_000, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 50 }), (pairs) => {
        const I = Float32Array.from(pairs, ([a]) => a);
        const II = Float32Array.from(pairs, ([, b]) => b);
        for (const lead of DERIVED_LIMB_LEADS) {
          const got = deriveLimbLead(lead, I, II, new Float32Array(I.length));
          const want = Float32Array.from(pairs, ([a, b]) => textbook[lead](a, b));
          // The same floats; the weighted form gives +0 where the textbook aVR gives -0 (I = -II).
          expect(Array.from(got, (v) => v + 0)).toEqual(Array.from(want, (v) => v + 0));
        }
      }),
    );
  });

  it('names the four limb leads derived from I and II, with their weights', () => {
    expect(DERIVED_LIMB_LEADS.filter(isDerivedLimbLead)).toEqual(['III', 'aVR', 'aVL', 'aVF']);
    expect((['I', 'II', 'V1'] as const).some(isDerivedLimbLead)).toBe(false);
    expect(Object.keys(LIMB_LEAD_WEIGHTS)).toEqual([...DERIVED_LIMB_LEADS]);
  });
});
