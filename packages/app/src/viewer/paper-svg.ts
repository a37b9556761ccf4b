/**
 * The ECG paper as SVG whose user unit is the millimetre: grid, calibration pulses, traces, lead labels, the
 * attribution overlays (hidden until switched on) and the printed speed, gain and filter line.
 */
import { s } from './dom.js';
import {
  COLUMN_S,
  CSS_PX_PER_MM,
  calibrationPulse,
  MM_PER_MV,
  MM_PER_S,
  PAPER,
  PAPER_HEIGHT_MM,
  PAPER_WIDTH_MM,
  REPORT_S,
  reportSlots,
  rowBaselineMm,
  sampleRange,
  TRACE_X0_MM,
  type TraceSlot,
  timeToXMm,
  tracePath,
} from './layout.js';
import type { AttributionMap, Vessel, ViewerEcg, ViewerLead } from './types.js';

/** Colours of the overlay: orange where occluding the region lowered the risk (it raised it), blue the opposite. */
export const OVERLAY_COLOURS = { raised: '#d95f02', lowered: '#1f78b4' } as const;

export interface PaperSvg {
  svg: SVGSVGElement;
  /** Redraws the traces for a new screen density (decimation depends on it). */
  redrawTraces(pxPerMm: number): void;
  /** Sets the on-screen size for a px/mm (zoom). */
  setScale(pxPerMm: number): void;
  overlays: Partial<Record<Vessel, SVGGElement>>;
  /** Layer above the traces for the caliper. */
  caliperLayer: SVGGElement;
  slots: TraceSlot[];
}

/** Builds the paper for an ECG at `pxPerMm` screen pixels per millimetre. */
export function buildPaper(
  doc: Document,
  ecg: ViewerEcg,
  attribution: Partial<Record<Vessel, AttributionMap>>,
  pxPerMm: number = CSS_PX_PER_MM,
): PaperSvg {
  const svg = s(doc, 'svg', {
    class: 'ecgv-svg',
    viewBox: `0 0 ${PAPER_WIDTH_MM} ${PAPER_HEIGHT_MM}`,
    preserveAspectRatio: 'xMinYMin meet',
    'data-mm-per-s': MM_PER_S,
    'data-mm-per-mv': MM_PER_MV,
  });
  svg.append(s(doc, 'title', {}, '12-lead ECG, 25 mm/s, 10 mm/mV'));
  svg.append(s(doc, 'rect', { class: 'ecgv-paper-bg', x: 0, y: 0, width: PAPER_WIDTH_MM, height: PAPER_HEIGHT_MM }));
  svg.append(grid(doc));

  const slots = reportSlots(ecg.durationS).filter((slot) => ecg.leads.some((l) => l.name === slot.lead));
  const overlays: Partial<Record<Vessel, SVGGElement>> = {};
  for (const [vessel, map] of Object.entries(attribution) as [Vessel, AttributionMap][]) {
    const g = overlayLayer(doc, vessel, map, slots);
    overlays[vessel] = g;
    svg.append(g);
  }

  for (let row = 0; row < 4; row++) svg.append(calibration(doc, row));
  svg.append(columnMarks(doc));
  const traces = s(doc, 'g', { class: 'ecgv-traces' });
  svg.append(traces);
  const labels = s(doc, 'g', { class: 'ecgv-labels' });
  for (const slot of slots) labels.append(leadLabel(doc, slot, leadOf(ecg, slot)));
  svg.append(labels);
  svg.append(footer(doc, ecg));
  const caliperLayer = s(doc, 'g', { class: 'ecgv-caliper' });
  svg.append(caliperLayer);

  const redrawTraces = (density: number): void => {
    traces.replaceChildren(
      ...slots.map((slot) => {
        const lead = leadOf(ecg, slot);
        const [from, to] = sampleRange(slot.startS, slot.endS, ecg.sampleRateHz, lead.samplesUv.length);
        return s(doc, 'path', {
          class: `ecgv-trace${slot.row === 3 ? ' ecgv-rhythm' : ''}`,
          'data-lead': slot.lead,
          'data-row': slot.row === 3 ? 'rhythm' : slot.row,
          'data-derived': lead.derived ? 'true' : 'false',
          d: tracePath(lead.samplesUv, from, to, ecg.sampleRateHz, slot.xMm, slot.baselineMm, density),
        });
      }),
    );
  };
  const setScale = (density: number): void => {
    svg.setAttribute('width', String(round(PAPER_WIDTH_MM * density)));
    svg.setAttribute('height', String(round(PAPER_HEIGHT_MM * density)));
  };
  setScale(pxPerMm);
  redrawTraces(pxPerMm);
  return { svg, redrawTraces, setScale, overlays, caliperLayer, slots };
}

function leadOf(ecg: ViewerEcg, slot: TraceSlot): ViewerLead {
  return ecg.leads.find((l) => l.name === slot.lead) as ViewerLead;
}

function grid(doc: Document): SVGGElement {
  const minor: string[] = [];
  const major: string[] = [];
  for (let x = 0; x <= PAPER_WIDTH_MM; x++) (x % 5 === 0 ? major : minor).push(`M${x} 0V${PAPER_HEIGHT_MM}`);
  for (let y = 0; y <= PAPER_HEIGHT_MM; y++) (y % 5 === 0 ? major : minor).push(`M0 ${y}H${PAPER_WIDTH_MM}`);
  return s(
    doc,
    'g',
    { class: 'ecgv-grid', 'aria-hidden': 'true' },
    s(doc, 'path', { class: 'ecgv-grid-minor', d: minor.join('') }),
    s(doc, 'path', { class: 'ecgv-grid-major', d: major.join('') }),
  );
}

/** 1 mV x 0.2 s pulse on the row's baseline; the pulse itself is one element so its box measures 10 x 5 mm. */
function calibration(doc: Document, row: number): SVGGElement {
  const baseline = rowBaselineMm(row);
  const p = calibrationPulse(baseline);
  return s(
    doc,
    'g',
    { class: 'ecgv-calibration', 'data-row': row === 3 ? 'rhythm' : row },
    s(doc, 'path', {
      class: 'ecgv-cal-base',
      d: `M${PAPER.marginMm} ${baseline}H${p.xMm}M${p.xMm + p.widthMm} ${baseline}H${TRACE_X0_MM - 0.5}`,
    }),
    s(doc, 'path', {
      class: 'ecgv-cal-pulse',
      'data-height-mm': p.heightMm,
      'data-width-mm': p.widthMm,
      d: `M${p.xMm} ${baseline}V${p.topMm}H${p.xMm + p.widthMm}V${baseline}`,
    }),
  );
}

/** Short vertical marks where one column's leads end and the next begin, as carts print them. */
function columnMarks(doc: Document): SVGPathElement {
  let d = '';
  for (let row = 0; row < 3; row++) {
    const b = rowBaselineMm(row);
    for (let c = 1; c < REPORT_S / COLUMN_S; c++) d += `M${timeToXMm(c * COLUMN_S)} ${b - 4}V${b + 4}`;
  }
  return s(doc, 'path', { class: 'ecgv-column-marks', d, 'aria-hidden': 'true' });
}

function leadLabel(doc: Document, slot: TraceSlot, lead: ViewerLead): SVGTextElement {
  return s(
    doc,
    'text',
    {
      class: `ecgv-lead-label${lead.derived ? ' ecgv-derived' : ''}`,
      x: round(slot.xMm + 1),
      y: round(slot.topMm + 5),
      'data-lead': slot.lead,
      'data-row': slot.row === 3 ? 'rhythm' : slot.row,
      'data-derived': lead.derived ? 'true' : 'false',
    },
    lead.derived ? `${slot.lead} (derived)` : slot.lead,
  );
}

function footer(doc: Document, ecg: ViewerEcg): SVGTextElement {
  const derived = ecg.leads.filter((l) => l.derived).map((l) => l.name);
  const parts = [
    `${MM_PER_S} mm/s`,
    `${MM_PER_MV} mm/mV`,
    ecg.filters ? `Filters: ${ecg.filters}` : 'Filters: not recorded',
    `${round(ecg.sampleRateHz)} Hz`,
    derived.length > 0 ? `Derived from I and II: ${derived.join(', ')}` : undefined,
  ].filter((p): p is string => p !== undefined);
  return s(
    doc,
    'text',
    { class: 'ecgv-footer', x: PAPER.marginMm, y: PAPER_HEIGHT_MM - PAPER.footerMm / 2 + 1.2 },
    parts.join('    '),
  );
}

/** Translucent bands behind each lead, one per attribution window, shaded by the size of the effect. */
function overlayLayer(doc: Document, vessel: Vessel, map: AttributionMap, slots: TraceSlot[]): SVGGElement {
  const g = s(doc, 'g', { class: 'ecgv-overlay', 'data-vessel': vessel, 'aria-hidden': 'true' });
  g.style.display = 'none';
  let maxAbs = 0;
  for (const values of Object.values(map.leads))
    for (const v of values ?? []) if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
  g.setAttribute('data-max-abs', String(maxAbs));
  if (maxAbs === 0) return g;
  for (const slot of slots) {
    const values = map.leads[slot.lead];
    if (!values) continue;
    for (let w = 0; w < values.length; w++) {
      const v = values[w] as number;
      if (!Number.isFinite(v) || Math.abs(v) < 0.05 * maxAbs) continue;
      const t0 = Math.max(slot.startS, map.startS + w * map.windowS);
      const t1 = Math.min(slot.endS, map.startS + (w + 1) * map.windowS);
      if (t1 <= t0) continue;
      g.append(
        s(doc, 'rect', {
          class: v > 0 ? 'ecgv-attr-raised' : 'ecgv-attr-lowered',
          x: round(timeToXMm(t0)),
          y: slot.topMm + 1,
          width: round((t1 - t0) * MM_PER_S),
          height: PAPER.rowHeightMm - 2,
          fill: v > 0 ? OVERLAY_COLOURS.raised : OVERLAY_COLOURS.lowered,
          'fill-opacity': round(0.12 + 0.5 * (Math.abs(v) / maxAbs)),
          'data-lead': slot.lead,
          'data-value': v,
        }),
      );
    }
  }
  return g;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
