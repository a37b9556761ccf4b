/**
 * Hand-written SVG line charts for the evaluation report: linear axes with "nice" ticks, labelled axes, a legend,
 * lines or steps, optional points with error bars and a reference diagonal. Server-side, no DOM, no library: the
 * charts are simple and the output must be a self-contained string. Accessible: role="img" with <title> and <desc>.
 */
import { escapeHtml } from './html.js';

/** One line of a chart. */
export interface Series {
  label: string;
  points: ReadonlyArray<{ x: number; y: number }>;
  color: string;
  /** SVG stroke-dasharray, e.g. "6 4". */
  dash?: string;
  /** Draw as a right-continuous step function (Kaplan-Meier). */
  step?: boolean;
  width?: number;
  /** Draw a marker at each point instead of (or with) a line. */
  markers?: boolean;
  /** No line, markers only. */
  noLine?: boolean;
  /** Vertical error bars, one per point, in data units. */
  errorBars?: ReadonlyArray<{ lo: number; hi: number }>;
}

export interface ChartSpec {
  /** Unique id in the page (for aria-labelledby). */
  id: string;
  title: string;
  /** What the chart shows, for screen readers. */
  desc: string;
  xLabel: string;
  yLabel: string;
  xDomain: [number, number];
  yDomain: [number, number];
  series: Series[];
  /** Draw the line y = x (calibration, ROC chance line). */
  diagonal?: boolean;
  /** Format of tick labels (default: up to 2 decimals). */
  tickFormat?: (v: number) => string;
  width?: number;
  height?: number;
}

/**
 * About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^k), as d3's ticks() chooses them.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const error = raw / power;
  const step = (error >= 7.07 ? 10 : error >= 3.16 ? 5 : error >= 1.41 ? 2 : 1) * power;
  const ticks: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

const f2 = (v: number): string => String(Number(v.toFixed(2)));
const r1 = (v: number): string => v.toFixed(1);

/** The chart as an <svg> element string. */
export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 440;
  const height = spec.height ?? 340;
  const m = { left: 58, right: 14, top: 34, bottom: 58 };
  const legendRows = Math.ceil(spec.series.length / 2);
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom - legendRows * 18;
  const [x0, x1] = spec.xDomain;
  const [y0, y1] = spec.yDomain;
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number): number => m.top + plotH - ((Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0)) * plotH;
  const fmt = spec.tickFormat ?? f2;
  const parts: string[] = [];
  const titleId = `${spec.id}-title`;
  const descId = `${spec.id}-desc`;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${spec.id}" viewBox="0 0 ${width} ${height}" ` +
      `width="${width}" height="${height}" role="img" aria-labelledby="${titleId} ${descId}">`,
    `<title id="${titleId}">${escapeHtml(spec.title)}</title>`,
    `<desc id="${descId}">${escapeHtml(spec.desc)}</desc>`,
    `<text class="chart-title" x="${width / 2}" y="20" text-anchor="middle">${escapeHtml(spec.title)}</text>`,
    `<clipPath id="${spec.id}-clip"><rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}"/></clipPath>`,
  );
  // Grid and ticks.
  const axis: string[] = [];
  for (const t of niceTicks(x0, x1, 5)) {
    const x = r1(sx(t));
    axis.push(`<line class="grid" x1="${x}" x2="${x}" y1="${m.top}" y2="${r1(m.top + plotH)}"/>`);
    axis.push(`<line class="tick" x1="${x}" x2="${x}" y1="${r1(m.top + plotH)}" y2="${r1(m.top + plotH + 5)}"/>`);
    axis.push(`<text class="tick-label" x="${x}" y="${r1(m.top + plotH + 18)}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1, 5)) {
    const y = r1(sy(t));
    axis.push(`<line class="grid" x1="${m.left}" x2="${r1(m.left + plotW)}" y1="${y}" y2="${y}"/>`);
    axis.push(`<line class="tick" x1="${m.left - 5}" x2="${m.left}" y1="${y}" y2="${y}"/>`);
    axis.push(`<text class="tick-label" x="${m.left - 8}" y="${y}" dy="0.32em" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(`<g class="axes">${axis.join('')}`);
  parts.push(
    `<rect class="frame" x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none"/>`,
    `<text class="axis-label" x="${r1(m.left + plotW / 2)}" y="${r1(m.top + plotH + 38)}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`,
    `<text class="axis-label" transform="translate(16 ${r1(m.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`,
    '</g>',
  );
  parts.push(`<g clip-path="url(#${spec.id}-clip)">`);
  if (spec.diagonal) {
    const lo = Math.max(x0, y0);
    const hi = Math.min(x1, y1);
    parts.push(`<line class="diagonal" x1="${r1(sx(lo))}" y1="${r1(sy(lo))}" x2="${r1(sx(hi))}" y2="${r1(sy(hi))}"/>`);
  }
  for (const s of spec.series) {
    if (s.errorBars) {
      s.errorBars.forEach((bar, i) => {
        const pt = s.points[i];
        if (!pt) return;
        const x = r1(sx(pt.x));
        parts.push(
          `<line class="error-bar" stroke="${s.color}" x1="${x}" x2="${x}" y1="${r1(sy(bar.lo))}" y2="${r1(sy(bar.hi))}"/>`,
        );
      });
    }
    if (!s.noLine && s.points.length > 0) {
      const d: string[] = [];
      s.points.forEach((pt, i) => {
        const x = r1(sx(pt.x));
        const y = r1(sy(pt.y));
        if (i === 0) d.push(`M${x},${y}`);
        else if (s.step) d.push(`H${x}V${y}`);
        else d.push(`L${x},${y}`);
      });
      parts.push(
        `<path class="series" data-series="${escapeHtml(s.label)}" data-points="${s.points.length}" d="${d.join('')}" ` +
          `fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      );
    }
    if (s.markers) {
      const dots = s.points
        .map((pt) => `<circle cx="${r1(sx(pt.x))}" cy="${r1(sy(pt.y))}" r="3.5" fill="${s.color}"/>`)
        .join('');
      parts.push(
        `<g class="markers" data-series="${escapeHtml(s.label)}" data-points="${s.points.length}">${dots}</g>`,
      );
    }
  }
  parts.push('</g>');
  // Legend: two columns under the plot.
  const legendTop = m.top + plotH + 60;
  spec.series.forEach((s, i) => {
    const x = m.left + (i % 2) * (plotW / 2);
    const y = legendTop + Math.floor(i / 2) * 18;
    const swatch = s.noLine
      ? `<circle cx="${x + 11}" cy="${y - 4}" r="3.5" fill="${s.color}"/>`
      : `<line x1="${x}" x2="${x + 22}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="${s.width ?? 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`;
    parts.push(
      `<g class="legend-item">${swatch}<text class="legend" x="${x + 28}" y="${y}">${escapeHtml(s.label)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
