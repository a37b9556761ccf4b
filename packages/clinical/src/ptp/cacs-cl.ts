/**
 * The coronary-artery-calcium-score-weighted clinical likelihood (CACS-CL) of Winther et al. (J Am Coll Cardiol
 * 2020;76:2421-2432, doi:10.1016/j.jacc.2020.09.585), which the ESC 2024 guideline recommends to refine RF-CL
 * when a calcium score is known. It is linear in RF-CL within each calcium-score bin.
 */
import { PtpInputError } from './input.js';

/** Agatston calcium score bins of the model. */
export const CACS_BINS = ['0', '1-9', '10-99', '100-399', '400-999', '>=1000'] as const;
export type CacsBin = (typeof CACS_BINS)[number];

/** Per bin: [constant, slope on RF-CL], both on the fraction scale (CLINICAL.md; pretestcad R/winther_ptp.R). */
const BIN_TERMS: Readonly<Record<CacsBin, readonly [number, number]>> = {
  '0': [0, 0],
  '1-9': [0.0082, 0.1311],
  '10-99': [0.0238, 0.2909],
  '100-399': [0.1131, 0.4077],
  '400-999': [0.2306, 0.4658],
  '>=1000': [0.404, 0.4489],
};

/**
 * The bin of an Agatston score. The published bins are whole numbers; a fractional score (some software reports
 * one) falls in the bin of the half-open interval [lower, next lower): any calcium above 0 and under 10 is 1-9.
 */
export function cacsBin(cacs: number): CacsBin {
  if (typeof cacs !== 'number' || !Number.isFinite(cacs) || cacs < 0) {
    throw new PtpInputError('cacs', 'the coronary calcium score must be a number >= 0 (Agatston)');
  }
  if (cacs === 0) return '0';
  if (cacs < 10) return '1-9';
  if (cacs < 100) return '10-99';
  if (cacs < 400) return '100-399';
  if (cacs < 1000) return '400-999';
  return '>=1000';
}

/**
 * CACS-CL as a fraction: 0.0013 + 0.2021 RF-CL + constant(bin) + slope(bin) x RF-CL, with RF-CL a FRACTION (the
 * RF-CL model's logistic output, not a percent). Units checked against pretestcad's
 * `calculate_winther_2020_cacs_cl_ptp`, which feeds the unscaled `calculate_winther_2020_rf_cl_ptp` into this
 * formula, and its tests: a woman of 30, non-anginal, 0 risk factors (RF-CL 0.00172552), CACS 0 gives
 * 0.0013 + 0.2021 x 0.00172552 = 0.001648728. Fed a percent, the same patient would get 35 %.
 */
export function cacsClFraction(rfclFraction: number, cacs: number): number {
  if (!(rfclFraction >= 0 && rfclFraction <= 1)) throw new RangeError('RF-CL must be a fraction in [0, 1]');
  const [constant, slope] = BIN_TERMS[cacsBin(cacs)];
  return 0.0013 + 0.2021 * rfclFraction + constant + slope * rfclFraction;
}
