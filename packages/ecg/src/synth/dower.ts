/**
 * The Dower transform: the eight independent leads of the 12-lead ECG (I, II, V1-V6) as linear combinations of the
 * Frank vectorcardiogram (X towards the patient's left, Y towards the feet, Z towards the back).
 * Coefficients from Dower, Machado and Osborne, Clin. Cardiol. 1980. Its inverse (Edenbrandt and Pahlm 1988, the
 * "inverse Dower" matrix) goes the other way, 8 leads to XYZ; this module only needs the forward direction.
 * III, aVR, aVL and aVF are never projected: they follow from I and II (Einthoven and Goldberger), so the
 * twelve leads are always mutually consistent.
 */
import type { LeadName } from '../ecg.js';

/** The eight leads that carry independent information; the other four are computed from I and II. */
export const INDEPENDENT_LEADS = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'] as const satisfies readonly LeadName[];

/** One of the eight independent leads. */
export type IndependentLead = (typeof INDEPENDENT_LEADS)[number];

/** Row per independent lead: lead = X * row[0] + Y * row[1] + Z * row[2]. */
export const DOWER_MATRIX: Readonly<Record<IndependentLead, readonly [number, number, number]>> = {
  I: [0.632, -0.235, 0.059],
  II: [0.235, 1.066, -0.132],
  V1: [-0.515, 0.157, -0.917],
  V2: [0.044, 0.164, -1.387],
  V3: [0.882, 0.098, -1.277],
  V4: [1.213, 0.127, -0.601],
  V5: [1.125, 0.127, -0.086],
  V6: [0.831, 0.076, 0.23],
};
