/**
 * ECG paper geometry in millimetres: where each lead's segment, the calibration pulses and the rhythm strip go on a
 * standard 3 x 4 + rhythm report, and how time and voltage map onto the paper (25 mm/s, 10 mm/mV). Pure: the SVG
 * uses millimetres as its user unit, so the page's px/mm only scales the whole drawing.
 */
import type { LeadName } from './types.js';

/** Paper speed. */
export const MM_PER_S = 25;
/** Gain. */
export const MM_PER_MV = 10;
/** CSS pixels per millimetre: a CSS inch is 96 px and 25.4 mm. */
export const CSS_PX_PER_MM = 96 / 25.4;

/** The 3 x 4 grid: rows of leads, one column per 2.5 s of the same 10 s. */
export const GRID_ROWS: readonly (readonly LeadName[])[] = [
  ['I', 'aVR', 'V1', 'V4'],
  ['II', 'aVL', 'V2', 'V5'],
  ['III', 'aVF', 'V3', 'V6'],
];
export const RHYTHM_LEAD: LeadName = 'II';
/** Seconds each column shows. */
export const COLUMN_S = 2.5;
/** Seconds the report shows (4 columns; the rhythm strip). */
export const REPORT_S = 10;

/** Fixed page geometry, mm. */
export const PAPER = {
  marginMm: 3,
  /** Calibration zone before the traces: 2 mm baseline, 5 mm pulse, 5 mm baseline (traces start on a 5 mm line). */
  calibrationMm: 12,
  /** Rows 35 mm apart put every baseline on a 5 mm line. */
  rowHeightMm: 35,
  /** Baseline below the row's top: QRS complexes point up more than down. */
  baselineInRowMm: 22,
  footerMm: 8,
} as const;

/** Where traces start on the paper. */
export const TRACE_X0_MM = PAPER.marginMm + PAPER.calibrationMm;
export const PAPER_WIDTH_MM = TRACE_X0_MM + REPORT_S * MM_PER_S + PAPER.marginMm;
export const PAPER_HEIGHT_MM = PAPER.marginMm + 4 * PAPER.rowHeightMm + PAPER.footerMm;

/** One trace to draw: a lead over a time span at a place on the paper. */
export interface TraceSlot {
  lead: LeadName;
  /** Row 0-2 of the 3 x 4 grid, 3 = rhythm strip. */
  row: number;
  column: number;
  startS: number;
  endS: number;
  /** x of startS, mm. */
  xMm: number;
  /** Baseline (0 mV), mm from the paper's top. */
  baselineMm: number;
  /** The band the lead owns vertically (for overlays and hit-testing), mm. */
  topMm: number;
  bottomMm: number;
}

/** Baseline of a row, mm from the top. */
export function rowBaselineMm(row: number): number {
  return PAPER.marginMm + row * PAPER.rowHeightMm + PAPER.baselineInRowMm;
}

/** The 12 grid slots and the rhythm strip, for a record of `durationS` seconds. */
export function reportSlots(durationS: number): TraceSlot[] {
  const slots: TraceSlot[] = [];
  GRID_ROWS.forEach((leads, row) => {
    leads.forEach((lead, column) => {
      const startS = column * COLUMN_S;
      slots.push(slot(lead, row, column, startS, Math.min(startS + COLUMN_S, durationS)));
    });
  });
  slots.push(slot(RHYTHM_LEAD, 3, 0, 0, Math.min(REPORT_S, durationS)));
  return slots;
}

function slot(lead: LeadName, row: number, column: number, startS: number, endS: number): TraceSlot {
  const top = PAPER.marginMm + row * PAPER.rowHeightMm;
  return {
    lead,
    row,
    column,
    startS,
    endS: Math.max(startS, endS),
    xMm: timeToXMm(startS),
    baselineMm: rowBaselineMm(row),
    topMm: top,
    bottomMm: top + PAPER.rowHeightMm,
  };
}

/** x on the paper of time t (s from the record's start), mm. Columns show the record's own time, not restarted. */
export function timeToXMm(tS: number): number {
  return TRACE_X0_MM + tS * MM_PER_S;
}

/** y on the paper of a voltage in microvolts above a baseline, mm (up is smaller y). */
export function uvToYMm(uv: number, baselineMm: number): number {
  return baselineMm - (uv / 1000) * MM_PER_MV;
}

/** Milliseconds a horizontal distance stands for (1 mm = 40 ms at 25 mm/s). */
export function mmToMs(dxMm: number): number {
  return (dxMm / MM_PER_S) * 1000;
}

/** Millivolts a vertical distance stands for, up positive (1 mm = 0.1 mV at 10 mm/mV). */
export function mmToMv(dyUpMm: number): number {
  return dyUpMm / MM_PER_MV;
}

/** Sample index range [from, to) of a time span at a rate, clamped to the record. */
export function sampleRange(startS: number, endS: number, rateHz: number, length: number): [number, number] {
  const from = Math.max(0, Math.min(length, Math.round(startS * rateHz)));
  const to = Math.max(from, Math.min(length, Math.round(endS * rateHz) + 1));
  return [from, to];
}

/**
 * The SVG path data (mm) of samples[from, to) drawn from x0. When samples are denser than the screen's pixels
 * (`pxPerMm`), each pixel column keeps its first, min, max and last sample in time order, so no peak is lost and
 * every QRS stays as tall as it is; otherwise every sample is a point. NaN breaks the line.
 */
export function tracePath(
  samples: Float32Array,
  from: number,
  to: number,
  rateHz: number,
  x0Mm: number,
  baselineMm: number,
  pxPerMm: number,
): string {
  const mmPerSample = MM_PER_S / rateHz;
  const samplesPerPx = 1 / (mmPerSample * pxPerMm);
  const parts: string[] = [];
  let pen = false;
  const point = (k: number): void => {
    const v = samples[k] as number;
    if (Number.isNaN(v)) {
      pen = false;
      return;
    }
    const x = x0Mm + (k - from) * mmPerSample;
    const y = uvToYMm(v, baselineMm);
    parts.push(`${pen ? 'L' : 'M'}${fmt(x)} ${fmt(y)}`);
    pen = true;
  };
  if (samplesPerPx <= 1) {
    for (let k = from; k < to; k++) point(k);
    return parts.join('');
  }
  const bucket = Math.max(1, Math.floor(samplesPerPx));
  for (let b = from; b < to; b += bucket) {
    const end = Math.min(to, b + bucket);
    let lo = b;
    let hi = b;
    for (let k = b; k < end; k++) {
      const v = samples[k] as number;
      if (Number.isNaN(v)) continue;
      if (!(v >= (samples[lo] as number))) lo = k;
      if (!(v <= (samples[hi] as number))) hi = k;
    }
    const keep = [...new Set([b, Math.min(lo, hi), Math.max(lo, hi), end - 1])].sort((x, y) => x - y);
    for (const k of keep) point(k);
  }
  return parts.join('');
}

/** The calibration pulse of a row: 1 mV (10 mm) high and 0.2 s (5 mm) wide, standing on the baseline. */
export function calibrationPulse(baselineMm: number): {
  xMm: number;
  widthMm: number;
  topMm: number;
  heightMm: number;
} {
  return {
    xMm: PAPER.marginMm + 2,
    widthMm: 0.2 * MM_PER_S,
    topMm: baselineMm - 1 * MM_PER_MV,
    heightMm: 1 * MM_PER_MV,
  };
}

function fmt(x: number): string {
  return (Math.round(x * 1000) / 1000).toString();
}
