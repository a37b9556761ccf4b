/**
 * renderEcgViewer: the paper (SVG), the toolbar (zoom, print), the caliper readout and the vessel panel (HTML) in
 * one container. The viewer never touches the URL or browser storage: everything it shows came in as `input`.
 */
import { attachCaliper, type Caliper } from './caliper.js';
import { h } from './dom.js';
import { CSS_PX_PER_MM, MM_PER_MV, MM_PER_S } from './layout.js';
import { buildPaper, type PaperSvg } from './paper-svg.js';
import type { Vessel, ViewerInput } from './types.js';
import { buildVesselPanel } from './vessel-panel.js';

export interface ViewerOptions {
  /** Screen pixels per millimetre of paper at zoom 1. Default: CSS millimetres (96 / 25.4). */
  pxPerMm?: number;
}

export interface ViewerHandle {
  /** Removes the viewer and its listeners from the container. */
  destroy(): void;
  /** Shows one vessel's attribution map behind the traces, or none. A vessel without a map shows none. */
  setOverlay(vessel: Vessel | null): void;
  /** Multiplies the zoom (clamped to 0.5-8); returns the new zoom. */
  zoom(factor: number): number;
  /** Opens the browser's print dialog (the print stylesheet gives a landscape report page). */
  print(): void;
}

const MIN_ZOOM = 0.5;
const MAX_ZOOM = 8;

/** Renders `input` into `container` (its previous content is replaced). */
export function renderEcgViewer(container: HTMLElement, input: ViewerInput, options: ViewerOptions = {}): ViewerHandle {
  const doc = container.ownerDocument;
  const basePxPerMm = options.pxPerMm && options.pxPerMm > 0 ? options.pxPerMm : CSS_PX_PER_MM;
  let zoomLevel = 1;
  let overlay: Vessel | null = null;

  const root = h(doc, 'div', { class: 'ecgv-root', 'data-px-per-mm': basePxPerMm, 'data-zoom': 1 });
  const readout = h(doc, 'p', { class: 'ecgv-readout', 'aria-live': 'polite', id: uniqueId(doc, 'ecgv-readout') });
  const panel = buildVesselPanel(doc, input);

  let paper: PaperSvg | undefined;
  let caliper: Caliper | undefined;
  const paperBox = h(doc, 'div', { class: 'ecgv-paper' });
  if (input.ecg) {
    paper = buildPaper(doc, input.ecg, input.attribution, basePxPerMm);
    paper.svg.setAttribute('tabindex', '0');
    paper.svg.setAttribute('role', 'group');
    paper.svg.setAttribute(
      'aria-label',
      'ECG paper, 25 mm/s, 10 mm/mV. Caliper: arrow keys move the cursor (Shift for 5 mm), Enter sets the first point, Escape clears; plus and minus zoom.',
    );
    paper.svg.setAttribute('aria-describedby', readout.id);
    paperBox.append(paper.svg);
    caliper = attachCaliper(paper.svg, paper.caliperLayer, readout);
  } else {
    paperBox.append(h(doc, 'p', { class: 'ecgv-no-waveform', role: 'status' }, 'No waveform to draw for this ECG.'));
  }

  const zoom = (factor: number): number => {
    if (!paper || !(factor > 0)) return zoomLevel;
    const next = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoomLevel * factor));
    if (next === zoomLevel) return zoomLevel;
    zoomLevel = next;
    paper.setScale(basePxPerMm * zoomLevel);
    paper.redrawTraces(basePxPerMm * zoomLevel);
    root.setAttribute('data-zoom', String(zoomLevel));
    zoomText.textContent = `${Math.round(zoomLevel * 100)} %`;
    return zoomLevel;
  };

  const zoomText = h(doc, 'span', { class: 'ecgv-zoom-level', 'aria-live': 'polite' }, '100 %');
  const button = (label: string, onClick: () => void, extra: Record<string, string> = {}): HTMLButtonElement => {
    const b = h(doc, 'button', { type: 'button', ...extra }, label);
    b.addEventListener('click', onClick);
    return b;
  };
  const toolbar = h(
    doc,
    'div',
    { class: 'ecgv-toolbar', role: 'toolbar', 'aria-label': 'ECG view' },
    button('Zoom out', () => zoom(1 / 1.25), { 'aria-label': 'Zoom out' }),
    zoomText,
    button('Zoom in', () => zoom(1.25), { 'aria-label': 'Zoom in' }),
    button('Actual size', () => zoom(1 / zoomLevel)),
    button('Print', () => print()),
  );
  if (!paper) for (const b of toolbar.querySelectorAll('button')) if (b.textContent !== 'Print') b.disabled = true;

  const setOverlay = (vessel: Vessel | null): void => {
    overlay = vessel && paper?.overlays[vessel] ? vessel : null;
    for (const [v, g] of Object.entries(paper?.overlays ?? {}) as [Vessel, SVGGElement][]) {
      g.style.display = v === overlay ? '' : 'none';
    }
    for (const [v, b] of Object.entries(panel.buttons) as [Vessel, HTMLButtonElement][]) {
      b.setAttribute('aria-pressed', String(v === overlay));
      b.textContent = v === overlay ? `Hide ${v} map` : `Show ${v} map`;
    }
    panel.legend.hidden = overlay === null;
    const title = panel.legend.querySelector('.ecgv-legend-title');
    if (title) title.textContent = overlay ? `${overlay} map: ` : '';
    root.setAttribute('data-overlay', overlay ?? '');
  };
  for (const [v, b] of Object.entries(panel.buttons) as [Vessel, HTMLButtonElement][]) {
    b.addEventListener('click', () => setOverlay(overlay === v ? null : v));
  }

  const onKey = (e: KeyboardEvent): void => {
    if (e.key === '+' || e.key === '=') zoom(1.25);
    else if (e.key === '-') zoom(1 / 1.25);
    else return;
    e.preventDefault();
  };
  paper?.svg.addEventListener('keydown', onKey);

  const print = (): void => {
    doc.defaultView?.print();
  };

  root.append(
    header(doc, input),
    h(
      doc,
      'div',
      { class: 'ecgv-main' },
      h(doc, 'div', { class: 'ecgv-paper-col' }, toolbar, paperBox, readout),
      panel.element,
    ),
  );
  container.replaceChildren(root);

  return {
    destroy: () => {
      caliper?.destroy();
      paper?.svg.removeEventListener('keydown', onKey);
      root.remove();
    },
    setOverlay,
    zoom,
    print,
  };
}

/** What a cart prints above the grid: who, when, which device, and the recording. */
function header(doc: Document, input: ViewerInput): HTMLElement {
  const ecg = input.ecg;
  const items: [string, string][] = [];
  if (input.patientLabel) items.push(['Patient', input.patientLabel]);
  items.push(['Acquired', ecg?.acquiredAt ? ecg.acquiredAt.replace('T', ' ') : 'not recorded']);
  if (ecg?.device) items.push(['Device', ecg.device]);
  if (ecg) {
    const stored = ecg.leads.filter((l) => !l.derived).length;
    items.push([
      'Recording',
      `${stored} leads stored, ${ecg.durationS.toFixed(1)} s at ${Math.round(ecg.sampleRateHz)} Hz`,
    ]);
    items.push(['Paper', `${MM_PER_S} mm/s, ${MM_PER_MV} mm/mV, filters ${ecg.filters ?? 'not recorded'}`]);
  }
  return h(
    doc,
    'header',
    { class: 'ecgv-header' },
    h(doc, 'h2', { class: 'ecgv-title' }, '12-lead ECG'),
    h(doc, 'dl', {}, ...items.flatMap(([k, v]) => [h(doc, 'dt', {}, k), h(doc, 'dd', {}, v)])),
  );
}

function uniqueId(doc: Document, prefix: string): string {
  let i = 0;
  while (doc.getElementById(`${prefix}-${i}`)) i++;
  return `${prefix}-${i}`;
}
