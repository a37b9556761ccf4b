/**
 * The 12-lead viewer (packages/app/src/viewer) in headless Chromium. esbuild bundles the viewer and a small harness
 * at test time; a local HTTP server on 127.0.0.1 serves them (so the page has a real origin whose storage can be
 * checked). The inputs are FHIR as ecgcad writes it: the writer's own Bundle parts for the result, the ECG
 * Observation carrying the waveform as C1 components, attribution Observations as C2, from a synthetic 12-lead
 * (@ecgcad/ecg synth) and, when ../shared is present, from real DICOM, aECG and GE MUSE (8-lead) samples decoded by
 * @ecgcad/ingest. Writes docs/images/viewer.png, viewer-overlay.png and viewer-print.png; compares the page with
 * packages/app/src/viewer/__screenshots__/viewer.png (ECGCAD_UPDATE_SCREENSHOTS=1 rewrites the reference).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Ecg, type LeadName, STANDARD_LEADS, synthesizeEcg } from '@ecgcad/ecg';
import { buildBundleParts, examplePrediction, examplePtpAssessment, MDC_LEADS, SYSTEMS } from '@ecgcad/fhir-writer';
import { decodeEcg } from '@ecgcad/ingest';
import type { Observation } from '@medplum/fhirtypes';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSkip, readSample, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';
import { docPicturePath } from './support/screenshots.js';

const CHROMIUM = '/usr/bin/chromium';
const VIEWER_DIR = fileURLToPath(new URL('../packages/app/src/viewer/', import.meta.url));
const REFERENCE = `${VIEWER_DIR}__screenshots__/viewer.png`;
const UPDATE = process.env.ECGCAD_UPDATE_SCREENSHOTS === '1';
const CSS_PX_PER_MM = 96 / 25.4;

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

// ------------------------------------------------------------------ FHIR as the writer and contracts C1/C2 shape it

// The lead codes come from the writer, so the viewer is tested against what is written, not a copy of its own table.
const MDC = SYSTEMS.mdc;
const MDC_CODES = Object.fromEntries(Object.entries(MDC_LEADS).map(([lead, c]) => [lead, c.code])) as Record<
  LeadName,
  string
>;
const ECGCAD = 'https://ecgcad.org/fhir/CodeSystem/ecgcad';
const UCUM = 'http://unitsofmeasure.org';

/** C1 components for the leads the record stores, integers at `factor` uV per unit. */
function waveformComponents(ecg: Ecg, only?: readonly LeadName[], factor = 1): Observation['component'] {
  return STANDARD_LEADS.filter((l) => ecg.leads[l] && (!only || only.includes(l))).map((lead) => ({
    code: { coding: [{ system: MDC, code: MDC_CODES[lead], display: `MDC_ECG_LEAD_${lead}` }] },
    valueSampledData: {
      origin: { value: 0, unit: 'uV', system: UCUM, code: 'uV' },
      period: 1000 / ecg.sampleRateHz,
      factor,
      dimensions: 1,
      data: Array.from(ecg.leads[lead] as Float32Array, (v) => Math.round(v / factor)).join(' '),
    },
  }));
}

/** A C2 attribution Observation: values per lead per window. */
function attributionObservation(
  focus: string,
  values: Partial<Record<LeadName, number[]>>,
  windowS: number,
): Observation {
  const factor = 0.0001;
  return {
    resourceType: 'Observation',
    status: 'final',
    code: {
      coding: [{ system: ECGCAD, code: 'occlusion-sensitivity', display: 'ECG occlusion-sensitivity map' }],
    },
    focus: [{ reference: focus }],
    extension: [
      {
        url: 'https://ecgcad.org/fhir/StructureDefinition/attribution-window-start',
        valueQuantity: { value: 0, unit: 's', system: UCUM, code: 's' },
      },
    ],
    component: Object.entries(values).map(([lead, v]) => ({
      code: { coding: [{ system: MDC, code: MDC_CODES[lead as LeadName] }] },
      valueSampledData: {
        origin: { value: 0, unit: '1', system: UCUM, code: '1' },
        period: windowS * 1000,
        factor,
        dimensions: 1,
        data: (v ?? []).map((x) => Math.round(x / factor)).join(' '),
      },
    })),
  };
}

/** Deterministic attribution: LAD raised by V2-V4 in the middle of the record and lowered by aVR; RCA by II/III/aVF. */
function syntheticAttribution(vessel: 'LAD' | 'RCA'): Partial<Record<LeadName, number[]>> {
  const windows = 20;
  const bump = (centre: number, height: number): number[] =>
    Array.from({ length: windows }, (_, w) => height * Math.exp(-(((w - centre) / 3) ** 2)));
  return vessel === 'LAD'
    ? { V2: bump(10, 0.04), V3: bump(12, 0.05), V4: bump(14, 0.03), aVR: bump(9, -0.02), I: bump(3, 0.01) }
    : { II: bump(4, 0.03), III: bump(5, 0.035), aVF: bump(6, 0.02), V1: bump(15, -0.015) };
}

interface Fhir {
  ecg: Observation;
  riskAssessment?: unknown;
  vessels: Observation[];
  attribution: Observation[];
  device?: unknown;
  ptp?: unknown;
  notAnalysable?: unknown;
}

/** The writer's resources for an example result, with ids as an EHR gives them, the waveform, and optional maps. */
function fhirFor(ecg: Ecg, opts: { only?: readonly LeadName[]; thresholds?: boolean; maps?: boolean } = {}): Fhir {
  const { parts } = buildBundleParts(examplePrediction(), {}, examplePtpAssessment());
  const vessels = parts.vessels.map((v, i) => ({ ...v, id: `vessel-${i}` }));
  if (!opts.thresholds) {
    // A result written before the thresholds travelled with it: no referenceRange on the probability component.
    for (const v of vessels) for (const c of v.component ?? []) delete c.referenceRange;
  }
  const idOf = (code: string): string => vessels.find((v) => v.code?.coding?.[0]?.code === code)!.id;
  return {
    ecg: { ...parts.ecg, component: waveformComponents(ecg, opts.only) },
    riskAssessment: parts.riskAssessment,
    vessels,
    attribution:
      opts.maps === false
        ? []
        : [
            attributionObservation(`Observation/${idOf('LAD-risk-stratum')}`, syntheticAttribution('LAD'), 0.5),
            attributionObservation(`Observation/${idOf('RCA-risk-stratum')}`, syntheticAttribution('RCA'), 0.5),
          ],
    device: parts.device,
    ptp: parts.ptp,
  };
}

const synthetic = synthesizeEcg({ seed: 7, noise: { muscleUv: 4, mainsUv: 0, baselineWanderUv: 20 } });

// ------------------------------------------------------------------ harness

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>viewer harness</title>
<link rel="stylesheet" href="harness.css"></head><body style="margin:8px;background:#fff"><main id="root"></main>
<script src="harness.js"></script></body></html>`;

let browser: Browser;
let server: Server;
let origin: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  const out = await build({
    entryPoints: { harness: `${VIEWER_DIR}test-page.ts` },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110'],
    write: false,
    outdir: '/virtual',
    logLevel: 'silent',
  });
  const files = new Map(out.outputFiles.map((f) => [f.path.replace(/^.*\//, ''), f.text]));
  if (!files.has('harness.js') || !files.has('harness.css')) throw new Error(`bundle gave ${[...files.keys()]}`);
  files.set('index.html', PAGE);
  server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1) || 'index.html';
    const body = files.get(name);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const type = name.endsWith('.js') ? 'text/javascript' : name.endsWith('.css') ? 'text/css' : 'text/html';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function openViewer(fhir: Fhir, options: { pxPerMm?: number } = {}): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(origin)) external.push(r.url());
  });
  await page.goto(`${origin}/index.html`);
  const { problems } = await call<{ problems: string[] }>(page, 'render', fhir, options);
  expect(external).toEqual([]);
  return { page, problems };
}

type Box = { x: number; y: number; width: number; height: number };
const box = (page: Page, selector: string): Promise<Box[]> =>
  page.$$eval(selector, (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }),
  );

/** Calls a function of the page's test API (packages/app/src/viewer/test-page.ts). */
function call<T>(page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([n, a]) => {
      const api = (globalThis as unknown as { ecgvTest: Record<string, (...x: unknown[]) => unknown> }).ecgvTest;
      return api[n]!(...a);
    },
    [name, args] as const,
  ) as Promise<T>;
}

function savePicture(name: string, png: Buffer): void {
  writeFileSync(docPicturePath(name), png);
}

// ------------------------------------------------------------------ tests

describe('12-lead viewer in headless Chromium (synthetic ECG, writer FHIR)', () => {
  it('draws 12 leads in 3 x 4 columns of 2.5 s plus a 10 s lead II rhythm strip, every lead labelled', async () => {
    const { page, problems } = await openViewer(fhirFor(synthetic, { thresholds: true }));
    expect(problems).toEqual([]);
    const traces = await page.$$eval('path.ecgv-trace', (ps) =>
      ps.map((p) => ({
        lead: p.getAttribute('data-lead'),
        row: p.getAttribute('data-row'),
        points: (p.getAttribute('d') ?? '').split(/[ML]/).length - 1,
        width: p.getBoundingClientRect().width,
      })),
    );
    const grid = traces.filter((t) => t.row !== 'rhythm');
    expect(grid.map((t) => t.lead).sort()).toEqual([...STANDARD_LEADS].sort());
    const rhythm = traces.filter((t) => t.row === 'rhythm');
    expect(rhythm.map((t) => t.lead)).toEqual(['II']);
    for (const t of grid) expect(Math.abs(t.width - 62.5 * CSS_PX_PER_MM)).toBeLessThan(2);
    expect(Math.abs(rhythm[0]!.width - 250 * CSS_PX_PER_MM)).toBeLessThan(2);
    // 500 Hz at 3.78 px/mm is 5.3 samples per pixel: decimated, yet far more than one point per mm.
    expect(rhythm[0]!.points).toBeLessThan(5000);
    expect(rhythm[0]!.points).toBeGreaterThan(1000);
    const labels = await page.$$eval('text.ecgv-lead-label', (ts) => ts.map((t) => t.textContent));
    expect(labels.sort()).toEqual([...STANDARD_LEADS, 'II'].sort());
    const footer = await page.textContent('text.ecgv-footer');
    expect(footer).toContain('25 mm/s');
    expect(footer).toContain('10 mm/mV');
    expect(footer).toContain('Filters: not recorded');
    const header = await page.textContent('.ecgv-header');
    expect(header).toContain('2026-11-26 08:59:40+01:00');
    expect(header).toContain('Mortara Instrument, Inc. el250');
    await page.close();
  });

  it('draws each calibration pulse exactly 10 mm high and 5 mm wide at the page px/mm', async () => {
    for (const pxPerMm of [undefined, 6]) {
      const { page } = await openViewer(fhirFor(synthetic), pxPerMm ? { pxPerMm } : {});
      const density = Number(await page.getAttribute('.ecgv-root', 'data-px-per-mm'));
      expect(density).toBeCloseTo(pxPerMm ?? CSS_PX_PER_MM, 9);
      const pulses = await box(page, 'path.ecgv-cal-pulse');
      expect(pulses).toHaveLength(4);
      for (const p of pulses) {
        expect(Math.abs(p.height - 10 * density)).toBeLessThan(0.05);
        expect(Math.abs(p.width - 5 * density)).toBeLessThan(0.05);
      }
      // Zoom doubles the drawing, and the pulse with it.
      expect(await call(page, 'zoom', 2)).toBe(2);
      const zoomed = await box(page, 'path.ecgv-cal-pulse');
      expect(Math.abs(zoomed[0]!.height - 20 * density)).toBeLessThan(0.05);
      expect(await page.getAttribute('.ecgv-root', 'data-zoom')).toBe('2');
      await page.close();
    }
  });

  it('shows the RiskAssessment probabilities and strata, thresholds on a scale, PTP, model card and demo banner', async () => {
    const fhir = fhirFor(synthetic, { thresholds: true });
    const { page } = await openViewer(fhir);
    const shown = await page.$$eval('.ecgv-vessel', (vs) =>
      vs.map((v) => ({
        vessel: v.getAttribute('data-vessel'),
        probability: Number(v.getAttribute('data-probability')),
        text: v.querySelector('.ecgv-probability')?.textContent,
        stratum: v.querySelector('.ecgv-stratum')?.textContent,
        scale: v.querySelector('.ecgv-scale')?.getAttribute('aria-label'),
      })),
    );
    const ra = fhir.riskAssessment as {
      prediction: {
        outcome: { coding: { code: string }[] };
        probabilityDecimal: number;
        qualitativeRisk: { text: string };
      }[];
    };
    expect(shown.map((s) => [s.vessel, s.probability, s.stratum])).toEqual(
      ra.prediction.map((p) => [p.outcome.coding[0]!.code, p.probabilityDecimal, p.qualitativeRisk.text]),
    );
    expect(shown.map((s) => s.text)).toEqual(['8 %', '5 %', '52 %', '20 %']);
    expect(shown[2]!.scale).toBe('Probability 52 %; rule-out below 12 %, rule-in at 41 % or above');
    const marker = await box(page, '.ecgv-vessel[data-vessel="LAD"] .ecgv-marker');
    const bar = await box(page, '.ecgv-vessel[data-vessel="LAD"] .ecgv-scale-bar');
    expect(Math.abs(marker[0]!.x + marker[0]!.width / 2 - (bar[0]!.x + 1 + 0.52 * (bar[0]!.width - 2)))).toBeLessThan(
      2,
    );
    const banner = await page.$$eval('[role="alert"]', (els) => els.map((e) => e.textContent));
    expect(banner).toEqual(['Demonstration model: not for clinical use. These results carry no clinical meaning.']);
    expect(await page.textContent('.ecgv-intended-use')).toBe(
      'Intended use: Demonstration weights. Outputs carry no clinical meaning.',
    );
    expect(await page.textContent('.ecgv-ptp')).toContain('ESC 2024 RF-CL: moderate (34 %)');
    expect(await page.textContent('.ecgv-vessel[data-vessel="LAD"] .ecgv-combined')).toContain('Combined high');
    await page.close();

    const plain = await openViewer(fhirFor(synthetic, { thresholds: false }));
    const texts = await plain.page.$$eval('.ecgv-scale-text', (els) => els.map((e) => e.textContent));
    expect(texts).toEqual(Array(4).fill('thresholds not recorded'));
    await plain.page.close();
  });

  it('switches the attribution overlay per vessel with aria-pressed buttons, by mouse and keyboard', async () => {
    const { page } = await openViewer(fhirFor(synthetic, { thresholds: true }));
    const state = (): Promise<unknown> => call(page, 'overlayState');
    expect(await state()).toEqual({
      pressed: { LAD: 'false', RCA: 'false' },
      visible: { LAD: false, RCA: false },
      legend: false,
    });
    await page.click('button.ecgv-overlay-toggle[data-vessel="LAD"]');
    expect(await state()).toEqual({
      pressed: { LAD: 'true', RCA: 'false' },
      visible: { LAD: true, RCA: false },
      legend: true,
    });
    // Bands lie behind V2-V4 around the middle of the record (windows 10-14 of 0.5 s): raised risk, orange.
    const raised = await page.$$eval('g.ecgv-overlay[data-vessel="LAD"] rect.ecgv-attr-raised', (rs) =>
      rs.map((r) => r.getAttribute('data-lead')),
    );
    expect(new Set(raised)).toEqual(new Set(['V2', 'V3', 'V4', 'I']));
    expect(
      await page.$$eval('g.ecgv-overlay[data-vessel="LAD"] rect.ecgv-attr-lowered', (rs) => rs.length),
    ).toBeGreaterThan(0);
    savePicture('viewer-overlay.png', await page.locator('.ecgv-root').screenshot());

    await page.focus('button.ecgv-overlay-toggle[data-vessel="RCA"]');
    await page.keyboard.press('Enter');
    expect(await state()).toEqual({
      pressed: { LAD: 'false', RCA: 'true' },
      visible: { LAD: false, RCA: true },
      legend: true,
    });
    await page.keyboard.press('Space');
    expect(await state()).toEqual({
      pressed: { LAD: 'false', RCA: 'false' },
      visible: { LAD: false, RCA: false },
      legend: false,
    });
    expect(await page.$$('.ecgv-vessel[data-vessel="LM"] button')).toHaveLength(0);
    await page.close();
  });

  it('measures intervals and amplitudes with the caliper: drag, and arrow keys from the keyboard', async () => {
    const { page } = await openViewer(fhirFor(synthetic));
    const readout = async (): Promise<{ ms: number; mv: number }> => {
      const text = (await page.textContent('.ecgv-readout')) ?? '';
      const m = /\u0394t (-?\d+) ms.*\u0394V (-?[\d.]+) mV/.exec(text);
      if (!m) throw new Error(`no reading in "${text}"`);
      return { ms: Number(m[1]), mv: Number(m[2]) };
    };
    // Drag from the foot of the first calibration pulse to its top right corner: 0.2 s and 1 mV.
    const pulse = (await box(page, 'path.ecgv-cal-pulse'))[0]!;
    await page.mouse.move(pulse.x, pulse.y + pulse.height);
    await page.mouse.down();
    await page.mouse.move(pulse.x + pulse.width, pulse.y, { steps: 5 });
    await page.mouse.up();
    const dragged = await readout();
    expect(Math.abs(dragged.ms - 200)).toBeLessThanOrEqual(11); // one pixel is 0.26 mm = 10.6 ms
    expect(Math.abs(dragged.mv - 1)).toBeLessThanOrEqual(0.03);

    await page.focus('svg.ecgv-svg');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+ArrowRight');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowUp');
    expect(await readout()).toEqual({ ms: 800, mv: 0.5 });
    expect(await page.textContent('.ecgv-readout')).toContain('75 /min');
    await page.close();
  });

  it('is usable from the keyboard, has readable contrast, and keeps patient data out of URLs and storage', async () => {
    const { page } = await openViewer(fhirFor(synthetic, { thresholds: true }));
    const url = page.url();
    const focused: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      focused.push(await call<string>(page, 'focused'));
    }
    expect(focused).toEqual(
      expect.arrayContaining(['button:Zoom out', 'button:Zoom in', 'button:Print', 'svg', 'button:LAD', 'button:RCA']),
    );
    await page.keyboard.press('+');
    await page.click('button.ecgv-overlay-toggle[data-vessel="LAD"]');
    // WCAG AA: 4.5:1 for every text in the viewer against its nearest opaque background.
    const worst = await call<{ ratio: number; text: string }>(page, 'worstContrast');
    expect(worst.ratio, worst.text).toBeGreaterThanOrEqual(4.5);
    const storage = await call(page, 'storage');
    expect(storage).toEqual({ local: 0, session: 0, cookie: '' });
    expect(page.url()).toBe(url);
    await page.close();
  });

  it('matches the reference picture, and prints a landscape report page without controls', async () => {
    const { page } = await openViewer(fhirFor(synthetic, { thresholds: true }));
    const shot = await page.locator('.ecgv-root').screenshot();
    savePicture('viewer.png', shot);
    if (UPDATE || !existsSync(REFERENCE)) {
      if (!UPDATE) throw new Error(`no reference picture at ${REFERENCE}: run with ECGCAD_UPDATE_SCREENSHOTS=1`);
      mkdirSync(dirname(REFERENCE), { recursive: true });
      writeFileSync(REFERENCE, shot);
    }
    // Fonts differ a little between hosts: allow 1.5 % of pixels to differ clearly.
    const reference = readFileSync(REFERENCE).toString('base64');
    expect(await call<number>(page, 'pixelDifference', shot.toString('base64'), reference, 64)).toBeLessThan(0.015);

    await page.emulateMedia({ media: 'print' });
    const print = await call<{ buttons: boolean; vessels: boolean; svgWidth: number; svgHeight: number }>(
      page,
      'printState',
    );
    // The grid prints at true size: 268 x 151 mm (CSS mm), whatever the screen zoom.
    expect(print.buttons).toBe(false);
    expect(print.vessels).toBe(true);
    expect(Math.abs(print.svgWidth - 268 * CSS_PX_PER_MM)).toBeLessThan(1);
    expect(Math.abs(print.svgHeight - 151 * CSS_PX_PER_MM)).toBeLessThan(1);
    const pdf = await page.pdf({ landscape: true, format: 'A4', preferCSSPageSize: true });
    expect(pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g)).toHaveLength(1);
    await page.setViewportSize({ width: Math.ceil(297 * CSS_PX_PER_MM), height: Math.ceil(210 * CSS_PX_PER_MM) });
    savePicture('viewer-print.png', await page.screenshot());
    await page.close();
  });

  it('says why a not-analysable ECG has no result, and still draws its waveform', async () => {
    const reasons = ['lead V2 flat (electrode off)', 'too short: 4.0 s'];
    const { parts } = buildBundleParts(examplePrediction({ notAnalysable: reasons }));
    const fhir: Fhir = {
      ecg: { ...parts.ecg, component: waveformComponents(synthetic) },
      vessels: [],
      attribution: [],
      device: parts.device,
      notAnalysable: parts.notAnalysable,
    };
    const { page, problems } = await openViewer(fhir);
    expect(problems).toEqual([`ECG not analysable: ${reasons.join('; ')}`]);
    expect(await page.textContent('.ecgv-banner-na')).toBe(
      `ECG not analysable. No risk was computed: ${reasons.join('; ')}.`,
    );
    expect(await page.$$eval('.ecgv-vessel .ecgv-missing', (els) => els.map((e) => e.textContent))).toEqual(
      Array(4).fill('No result'),
    );
    expect(await page.$$('path.ecgv-trace')).toHaveLength(13);
    await page.close();
  });

  it('shows problems instead of failing when the waveform is missing', async () => {
    const fhir = fhirFor(synthetic);
    delete fhir.ecg.component;
    const { page, problems } = await openViewer(fhir);
    expect(problems.some((p) => p.startsWith('no waveform'))).toBe(true);
    expect(await page.textContent('.ecgv-no-waveform')).toBe('No waveform to draw for this ECG.');
    expect(await page.textContent('.ecgv-problems')).toContain('no waveform');
    expect(await page.$$('.ecgv-vessel[data-probability]')).toHaveLength(4);
    await page.close();
  });
});

describe.skipIf(!samplesPresent)('12-lead viewer on real samples decoded by @ecgcad/ingest', () => {
  const decode = (name: string): Ecg =>
    decodeEcg(readSample(name), { feed: 'file', receivedAt: '2026-12-03T12:00:00Z' });

  it.each([
    ['dicom_mortara_el250_12lead.dcm', 1000],
    ['aecg_hl7_2003_example.xml', 500],
  ])('%s: 12 stored leads drawn, none derived', async (name, rate) => {
    const ecg = decode(name);
    expect(ecg.sampleRateHz).toBe(rate);
    const { page, problems } = await openViewer(fhirFor(ecg, { maps: false }));
    expect(problems).toEqual([]);
    expect(await page.$$('path.ecgv-trace')).toHaveLength(13);
    expect(await page.$$('[data-derived="true"]')).toHaveLength(0);
    const d = await page.getAttribute('path.ecgv-rhythm', 'd');
    expect(d!.length).toBeGreaterThan(1000);
    await page.close();
  });

  it('GE MUSE with 8 stored leads: III, aVR, aVL and aVF are drawn and labelled derived', async () => {
    const ecg = decode('ge_muse_restingecg_example1.xml');
    expect(Object.keys(ecg.leads).sort()).toEqual(['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']);
    const { page, problems } = await openViewer(fhirFor(ecg, { maps: false }));
    expect(problems).toEqual([]);
    expect(await page.$$('path.ecgv-trace')).toHaveLength(13);
    const derived = await page.$$eval('text.ecgv-lead-label[data-derived="true"]', (ts) =>
      ts.map((t) => t.textContent),
    );
    expect(derived.sort()).toEqual(['III (derived)', 'aVF (derived)', 'aVL (derived)', 'aVR (derived)']);
    expect(await page.textContent('text.ecgv-footer')).toContain('Derived from I and II: III, aVR, aVL, aVF');
    await page.close();
  });
});

describe('12-lead viewer: 8 stored leads of a synthetic record', () => {
  it('derives and labels the four limb leads when only I, II and V1-V6 are stored', async () => {
    const { page } = await openViewer(
      fhirFor(synthetic, { only: ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'], maps: false }),
    );
    const labels = await page.$$eval('text.ecgv-lead-label', (ts) =>
      ts.map((t) => [t.getAttribute('data-lead'), t.getAttribute('data-derived'), t.textContent]),
    );
    expect(
      labels
        .filter((l) => l[1] === 'true')
        .map((l) => l[2])
        .sort(),
    ).toEqual(['III (derived)', 'aVF (derived)', 'aVL (derived)', 'aVR (derived)']);
    expect(await page.$$('path.ecgv-trace[data-derived="true"]')).toHaveLength(4);
    // III is drawn as II - I: its first point (row 3 of the grid, baseline 95 mm) is that difference at 10 mm/mV.
    const d = (await page.getAttribute('path.ecgv-trace[data-lead="III"]', 'd')) ?? '';
    const first = /^M([\d.]+) ([\d.]+)/.exec(d);
    const uv = (lead: LeadName): number => Math.round((synthetic.leads[lead] as Float32Array)[0] as number);
    expect(Number(first?.[1])).toBe(15);
    expect(Number(first?.[2])).toBeCloseTo(95 - (uv('II') - uv('I')) / 100, 3);
    await page.close();
  });
});
