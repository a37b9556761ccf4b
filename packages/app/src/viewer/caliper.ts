/**
 * Caliper: two points on the paper and what lies between them in time and voltage. Drag with a pointer, or with the
 * keyboard move a cursor with the arrow keys (Shift: 5 mm), set the anchor with Enter or Space, clear with Escape.
 */
import { s } from './dom.js';
import { mmToMs, mmToMv, PAPER_HEIGHT_MM, PAPER_WIDTH_MM, rowBaselineMm, TRACE_X0_MM } from './layout.js';

export interface PaperPoint {
  xMm: number;
  yMm: number;
}

export interface CaliperReading {
  /** Time from anchor to cursor, ms (positive to the right). */
  dtMs: number;
  /** Voltage from anchor to cursor, mV (positive up). */
  dmV: number;
  /** 60000 / |dt|: the rate if the span is one RR interval; undefined for a zero span. */
  ratePerMin?: number;
}

/** What the span between two paper points measures. */
export function caliperReading(anchor: PaperPoint, cursor: PaperPoint): CaliperReading {
  const dtMs = mmToMs(cursor.xMm - anchor.xMm);
  const dmV = mmToMv(anchor.yMm - cursor.yMm);
  return { dtMs, dmV, ...(Math.abs(dtMs) >= 1 ? { ratePerMin: 60000 / Math.abs(dtMs) } : {}) };
}

/** The reading in words, for the live region. */
export function formatReading(r: CaliperReading): string {
  const rate = r.ratePerMin !== undefined ? ` (${Math.round(r.ratePerMin)} /min if one RR)` : '';
  return `\u0394t ${Math.round(r.dtMs)} ms${rate}, \u0394V ${r.dmV.toFixed(2)} mV`;
}

export interface Caliper {
  /** Current state, for tests and the handle. */
  state(): { anchor?: PaperPoint; cursor: PaperPoint };
  destroy(): void;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Wires the caliper to a paper SVG; `readout` receives the reading (an aria-live element). */
export function attachCaliper(svg: SVGSVGElement, layer: SVGGElement, readout: HTMLElement): Caliper {
  const doc = svg.ownerDocument;
  let anchor: PaperPoint | undefined;
  let cursor: PaperPoint = { xMm: TRACE_X0_MM, yMm: rowBaselineMm(0) };
  let dragging = false;
  let cursorShown = false;

  const draw = (): void => {
    const parts: SVGElement[] = [];
    if (cursorShown || anchor) {
      parts.push(
        s(doc, 'path', {
          class: 'ecgv-caliper-cursor',
          d: `M${cursor.xMm - 3} ${cursor.yMm}H${cursor.xMm + 3}M${cursor.xMm} ${cursor.yMm - 3}V${cursor.yMm + 3}`,
        }),
      );
    }
    if (anchor) {
      parts.push(
        s(doc, 'path', {
          class: 'ecgv-caliper-span',
          d: `M${anchor.xMm} ${anchor.yMm - 6}V${anchor.yMm + 6}M${anchor.xMm} ${anchor.yMm}H${cursor.xMm}V${cursor.yMm}M${cursor.xMm} ${cursor.yMm - 6}V${cursor.yMm + 6}`,
        }),
      );
      readout.textContent = formatReading(caliperReading(anchor, cursor));
    } else {
      readout.textContent = cursorShown
        ? 'Caliper: press Enter to set the first point, then move with the arrow keys.'
        : 'Caliper: drag on the paper, or focus it and use the arrow keys.';
    }
    layer.replaceChildren(...parts);
  };

  const toPaper = (e: PointerEvent): PaperPoint | undefined => {
    const ctm = svg.getScreenCTM();
    if (!ctm) return undefined;
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse());
    return { xMm: clamp(p.x, 0, PAPER_WIDTH_MM), yMm: clamp(p.y, 0, PAPER_HEIGHT_MM) };
  };

  const onDown = (e: PointerEvent): void => {
    if (e.button !== 0) return;
    const p = toPaper(e);
    if (!p) return;
    anchor = p;
    cursor = p;
    dragging = true;
    svg.setPointerCapture?.(e.pointerId);
    draw();
  };
  const onMove = (e: PointerEvent): void => {
    if (!dragging) return;
    const p = toPaper(e);
    if (!p) return;
    cursor = p;
    draw();
  };
  const onUp = (): void => {
    dragging = false;
  };
  const onKey = (e: KeyboardEvent): void => {
    const step = e.shiftKey ? 5 : 1;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = moves[e.key];
    if (move) {
      cursor = {
        xMm: clamp(cursor.xMm + move[0], 0, PAPER_WIDTH_MM),
        yMm: clamp(cursor.yMm + move[1], 0, PAPER_HEIGHT_MM),
      };
      cursorShown = true;
    } else if (e.key === 'Enter' || e.key === ' ') {
      anchor = { ...cursor };
      cursorShown = true;
    } else if (e.key === 'Escape') {
      anchor = undefined;
      cursorShown = false;
    } else return;
    e.preventDefault();
    draw();
  };

  svg.addEventListener('pointerdown', onDown);
  svg.addEventListener('pointermove', onMove);
  svg.addEventListener('pointerup', onUp);
  svg.addEventListener('pointercancel', onUp);
  svg.addEventListener('keydown', onKey);
  draw();
  return {
    state: () => ({ ...(anchor ? { anchor: { ...anchor } } : {}), cursor: { ...cursor } }),
    destroy: () => {
      svg.removeEventListener('pointerdown', onDown);
      svg.removeEventListener('pointermove', onMove);
      svg.removeEventListener('pointerup', onUp);
      svg.removeEventListener('pointercancel', onUp);
      svg.removeEventListener('keydown', onKey);
    },
  };
}
