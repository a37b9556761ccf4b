/**
 * The browser side of test/app-viewer.test.ts, bundled with the viewer into the test's harness page only (the app
 * never imports it). It lives here so that the DOM code is type-checked with the DOM library, which the tests'
 * Node tsconfig does not load. It installs `globalThis.ecgvTest`.
 */

import type { ViewerFhirInput } from './fhir-input.js';
import { renderEcgViewer, type ViewerHandle, viewerInputFromFhir } from './index.js';
import type { Vessel } from './types.js';

let handle: ViewerHandle | undefined;

const api = {
  /** Decodes the FHIR and renders it into #root; returns the input's problems. */
  render(fhir: ViewerFhirInput, options: { pxPerMm?: number } = {}): { problems: string[] } {
    handle?.destroy();
    const input = viewerInputFromFhir(fhir);
    handle = renderEcgViewer(document.getElementById('root') as HTMLElement, input, options);
    return { problems: input.problems };
  },
  zoom: (factor: number): number => handle?.zoom(factor) ?? 0,
  setOverlay: (vessel: Vessel | null): void => handle?.setOverlay(vessel),

  /** aria-pressed of each overlay button, whether each overlay is drawn, and whether the legend shows. */
  overlayState(): { pressed: Record<string, string | null>; visible: Record<string, boolean>; legend: boolean } {
    const pressed: Record<string, string | null> = {};
    for (const b of document.querySelectorAll('button.ecgv-overlay-toggle'))
      pressed[b.getAttribute('data-vessel') ?? '?'] = b.getAttribute('aria-pressed');
    const visible: Record<string, boolean> = {};
    for (const g of document.querySelectorAll<SVGGElement>('g.ecgv-overlay')) {
      const r = g.getBoundingClientRect();
      visible[g.getAttribute('data-vessel') ?? '?'] =
        getComputedStyle(g).display !== 'none' && r.width > 0 && r.height > 0;
    }
    const legend = document.querySelector<HTMLElement>('.ecgv-legend');
    return { pressed, visible, legend: legend !== null && !legend.hidden };
  },

  /** The focused element in words: `svg`, or `tag:data-vessel or text`. */
  focused(): string {
    const e = document.activeElement;
    if (!e) return '';
    if (e instanceof SVGSVGElement) return 'svg';
    return `${e.tagName.toLowerCase()}:${e.getAttribute('data-vessel') ?? e.textContent?.trim() ?? ''}`;
  },

  /** The lowest WCAG contrast ratio of any HTML text in the viewer against its nearest opaque background. */
  worstContrast(): { ratio: number; text: string } {
    const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = (c: number[]): number => {
      const [r, g, b] = c.slice(0, 3).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = (start: Element): number[] => {
      for (let e: Element | null = start; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c[3] ?? 0) > 0.99) return c;
      }
      return [255, 255, 255];
    };
    let worst = { ratio: 21, text: '' };
    for (const e of document.querySelectorAll('.ecgv-root *')) {
      const ownText = [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim());
      if (!ownText || e instanceof SVGElement) continue;
      const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(background(e))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < worst.ratio) worst = { ratio, text: e.textContent ?? '' };
    }
    return worst;
  },

  storage: (): { local: number; session: number; cookie: string } => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookie: document.cookie,
  }),

  /** Under print media: are controls and vessels shown, and the paper's size in px. */
  printState(): { buttons: boolean; vessels: boolean; svgWidth: number; svgHeight: number } {
    const shown = (sel: string): boolean =>
      [...document.querySelectorAll(sel)].some(
        (e) => getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0,
      );
    const svg = document.querySelector('svg.ecgv-svg')?.getBoundingClientRect();
    return {
      buttons: shown('.ecgv-root button'),
      vessels: shown('.ecgv-vessel'),
      svgWidth: svg?.width ?? 0,
      svgHeight: svg?.height ?? 0,
    };
  },

  /** Fraction of pixels whose colour differs by more than `threshold` in a channel (1 when the sizes differ). */
  async pixelDifference(a: string, b: string, threshold: number): Promise<number> {
    const load = async (b64: string): Promise<ImageData> => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d') as CanvasRenderingContext2D;
      ctx.drawImage(img, 0, 0);
      return ctx.getImageData(0, 0, c.width, c.height);
    };
    const [p, q] = [await load(a), await load(b)];
    if (p.width !== q.width || p.height !== q.height) return 1;
    let differing = 0;
    for (let i = 0; i < p.data.length; i += 4) {
      for (let k = 0; k < 3; k++) {
        if (Math.abs((p.data[i + k] as number) - (q.data[i + k] as number)) > threshold) {
          differing++;
          break;
        }
      }
    }
    return differing / (p.width * p.height);
  },
};

export type TestPageApi = typeof api;
(globalThis as unknown as { ecgvTest: TestPageApi }).ecgvTest = api;
