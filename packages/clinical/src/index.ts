/**
 * @ecgcad/clinical: the study's method around the model, as pure functions. Scores files, ROC and AUC with
 * DeLong and bootstrap CIs, site calibration of vessel thresholds, evaluation (calibration, decision curves,
 * reclassification, survival) and pre-test probability. No I/O beyond parsing text the caller read.
 */
export * from './binary.js';
export * from './binormal.js';
export * from './bootstrap.js';
export * from './calibrate.js';
export * from './cohort.js';
export * from './delong.js';
export * from './evaluate/calibration.js';
export * from './evaluate/cohort.js';
export * from './evaluate/decision-curve.js';
export * from './evaluate/proportion.js';
export * from './evaluate/ptp-comparison.js';
export * from './evaluate/recalibration.js';
export * from './evaluate/reclassification.js';
export * from './evaluate/strata.js';
export * from './evaluate/survival.js';
export * from './evaluate/testing-cohort.js';
export * from './monitor/profile.js';
export * from './monitor/psi.js';
export * from './ptp/cacs-cl.js';
export * from './ptp/esc2019.js';
export * from './ptp/esc2024.js';
export * from './ptp/input.js';
export * from './ptp/levels.js';
export * from './ptp/models.js';
export * from './ptp/pretest-probability.js';
export * from './reclassify.js';
export * from './report/html.js';
export * from './report/render.js';
export * from './report/svg.js';
export * from './rng.js';
export * from './roc.js';
export * from './scores.js';
export * from './thresholds.js';
