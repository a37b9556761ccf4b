/**
 * Renders a 12-lead ECG as an SVG in the classic paper layout: a 3 x 4 grid of 2.5 s segments
 * (I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6) and a 10 s lead II rhythm strip, on a millimetre grid at 25 mm/s
 * and 10 mm/mV with a 1 mV calibration pulse. One SVG user unit is one millimetre.
 */
import type { Ecg, LeadName } from '../ecg.js';

/** Options of {@link plotEcgSvg}. */
export interface PlotSvgOptions {
  /** Paper speed. Default 25 mm/s. */
  mmPerS?: number;
  /** Gain. Default 10 mm/mV. */
  mmPerMv?: number;
  /** Seconds per column of the 3 x 4 grid. Default 2.5. */
  segmentS?: number;
  /** Lead of the rhythm strip. Default II. */
  rhythmLead?: LeadName;
  /** Title printed at the top left (never patient data). Default none. */
  title?: string;
}

const GRID_ROWS: readonly (readonly LeadName[])[] = [
  ['I', 'aVR', 'V1', 'V4'],
  ['II', 'aVL', 'V2', 'V5'],
  ['III', 'aVF', 'V3', 'V6'],
];

const escapeXml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** Polyline points for samples [from, to) of a lead, placed at (x0, yBaseline) in mm. */
function tracePoints(
  samples: Float32Array,
  from: number,
  to: number,
  sampleRateHz: number,
  x0: number,
  yBaseline: number,
  mmPerS: number,
  mmPerMv: number,
): string {
  const parts: string[] = [];
  const end = Math.min(to, samples.length);
  for (let k = from; k < end; k++) {
    const x = x0 + ((k - from) / sampleRateHz) * mmPerS;
    const y = yBaseline - ((samples[k] as number) / 1000) * mmPerMv;
    parts.push(`${x.toFixed(2)},${y.toFixed(2)}`);
  }
  return parts.join(' ');
}

/** Returns the SVG document as a string. Leads missing from the record leave their cell empty. */
export function plotEcgSvg(ecg: Ecg, options: PlotSvgOptions = {}): string {
  const mmPerS = options.mmPerS ?? 25;
  const mmPerMv = options.mmPerMv ?? 10;
  const segmentS = options.segmentS ?? 2.5;
  const rhythmLead = options.rhythmLead ?? 'II';
  const fs = ecg.sampleRateHz;
  const calibrationMm = 5;
  const margin = 5;
  const rowHeight = 30;
  const rows = GRID_ROWS.length + 1;
  const traceWidth = 4 * segmentS * mmPerS;
  const width = Math.ceil(margin * 2 + calibrationMm * 2 + traceWidth);
  const titleSpace = options.title ? 8 : 0;
  const height = Math.ceil(margin * 2 + titleSpace + rows * rowHeight);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}mm" height="${height}mm" viewBox="0 0 ${width} ${height}" role="img">`,
  );
  out.push(`<title>${escapeXml(options.title ?? '12-lead ECG')}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  // Millimetre grid, with every fifth line heavier.
  const minor: string[] = [];
  const major: string[] = [];
  for (let mm = 0; mm <= width; mm++) (mm % 5 === 0 ? major : minor).push(`M${mm} 0V${height}`);
  for (let mm = 0; mm <= height; mm++) (mm % 5 === 0 ? major : minor).push(`M0 ${mm}H${width}`);
  out.push(`<path d="${minor.join('')}" stroke="#f6c8c8" stroke-width="0.1"/>`);
  out.push(`<path d="${major.join('')}" stroke="#e89a9a" stroke-width="0.25"/>`);
  if (options.title) {
    out.push(
      `<text x="${margin}" y="${margin + 4}" font-family="sans-serif" font-size="4">${escapeXml(options.title)}</text>`,
    );
  }
  out.push(
    `<text x="${width - margin}" y="${height - 1.5}" font-family="sans-serif" font-size="3" text-anchor="end">` +
      `${mmPerS} mm/s, ${mmPerMv} mm/mV, ${fs} Hz</text>`,
  );
  const segmentSamples = Math.round(segmentS * fs);
  const x0 = margin + calibrationMm * 2;
  const traces: string[] = [];
  const labels: string[] = [];
  const rowBaseline = (row: number): number => margin + titleSpace + row * rowHeight + rowHeight * 0.6;
  for (let row = 0; row <= GRID_ROWS.length; row++) {
    const yb = rowBaseline(row);
    // 1 mV calibration pulse: 0.2 s wide, 10 mm tall at the default gain.
    const pulseW = 0.2 * mmPerS;
    traces.push(
      `M${margin} ${yb}h${(calibrationMm * 2 - pulseW) / 2}v${-mmPerMv}h${pulseW}v${mmPerMv}h${(calibrationMm * 2 - pulseW) / 2}`,
    );
  }
  GRID_ROWS.forEach((leads, row) => {
    const yb = rowBaseline(row);
    leads.forEach((lead, col) => {
      const x = x0 + col * segmentS * mmPerS;
      labels.push(`<text x="${x + 1}" y="${yb - 12}" font-family="sans-serif" font-size="3.5">${lead}</text>`);
      const samples = ecg.leads[lead];
      if (!samples) return;
      const from = col * segmentSamples;
      out.push(
        `<polyline fill="none" stroke="#000" stroke-width="0.3" stroke-linejoin="round" points="${tracePoints(samples, from, from + segmentSamples, fs, x, yb, mmPerS, mmPerMv)}"/>`,
      );
      if (col > 0) traces.push(`M${x} ${yb - 3}v6`);
    });
  });
  const rhythm = ecg.leads[rhythmLead];
  const yRhythm = rowBaseline(GRID_ROWS.length);
  labels.push(`<text x="${x0 + 1}" y="${yRhythm - 12}" font-family="sans-serif" font-size="3.5">${rhythmLead}</text>`);
  if (rhythm) {
    out.push(
      `<polyline fill="none" stroke="#000" stroke-width="0.3" stroke-linejoin="round" points="${tracePoints(rhythm, 0, 4 * segmentSamples, fs, x0, yRhythm, mmPerS, mmPerMv)}"/>`,
    );
  }
  out.push(`<path d="${traces.join('')}" fill="none" stroke="#000" stroke-width="0.3"/>`);
  out.push(...labels);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
