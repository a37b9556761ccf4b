import { describe, expect, it } from 'vitest';
import { cacsBin, cacsClFraction } from './cacs-cl.js';
import { rfclFraction } from './esc2024.js';
import { PtpInputError } from './input.js';

describe('CACS-CL', () => {
  // The worked examples of the MIT-licensed R package JauntyJJS/pretestcad (tests/testthat/test-winther_ptp.R,
  // "verified with CardioLab/cadptp"): non-anginal women, risk-factor count, Agatston score, expected fraction.
  it.each([
    [30, 0, 0, 0.001648728],
    [39, 1, 10, 0.02671354],
    [30, 2, 100, 0.1175533],
    [39, 3, 400, 0.2377107],
    [30, 4, 1000, 0.4153192],
    [39, 5, 9, 0.01713664],
  ])('age %i, %i risk factors, CACS %i: %f', (age, rf, cacs, expected) => {
    const rfcl = rfclFraction(age, 'female', 'non-anginal', rf);
    expect(Math.abs(cacsClFraction(rfcl, cacs) - expected)).toBeLessThan(1e-6);
  });

  it('takes RF-CL as a fraction: the first example by hand, and a percent refused', () => {
    // 0.0013 + 0.2021 x 0.00172552 (RF-CL of a woman of 30, non-anginal, 0 risk factors) with CACS 0.
    expect(cacsClFraction(0.00172552, 0)).toBeCloseTo(0.0013 + 0.2021 * 0.00172552, 12);
    expect(() => cacsClFraction(17.2, 0)).toThrow(RangeError);
  });

  it('bins Agatston scores 0 / 1-9 / 10-99 / 100-399 / 400-999 / >= 1000', () => {
    const scores = [0, 0.4, 1, 9, 9.5, 10, 99, 99.9, 100, 399, 400, 999, 1000, 4500];
    expect(scores.map(cacsBin)).toEqual([
      '0',
      '1-9',
      '1-9',
      '1-9',
      '1-9',
      '10-99',
      '10-99',
      '10-99',
      '100-399',
      '100-399',
      '400-999',
      '400-999',
      '>=1000',
      '>=1000',
    ]);
  });

  it('refuses negative or non-numeric calcium scores, naming the input', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => cacsBin(bad)).toThrow(PtpInputError);
      expect(() => cacsClFraction(0.1, bad)).toThrow(expect.objectContaining({ input: 'cacs' }));
    }
  });

  it('rises with the calcium score for the same RF-CL', () => {
    const values = [0, 5, 50, 200, 600, 2000].map((cacs) => cacsClFraction(0.1, cacs));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as number);
  });
});
