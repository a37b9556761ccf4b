/**
 * The SMART app on real sample ECGs, through the whole path: @ecgcad/ingest decodes a Mortara DICOM 12-lead, an HL7
 * aECG and a GE MUSE file with 8 stored leads from ../shared/samples; the real Predictor scores them with the demo
 * model folder (attribution maps always on); the real FhirWriter writes them, waveform included, into the test EHR
 * with SMART. An EHR launch into the app served by the engine's /app routes opens each ECG from the worklist in
 * headless Chromium: 12 lead traces and the rhythm strip drawn, the MUSE file's III, aVR, aVL, aVF labelled derived
 * (the 12-lead files' not), the probabilities shown equal to the RiskAssessment's, and the attribution overlay
 * switching on with bands, the viewer's stylesheet applied. Writes docs/images/app-viewer-sample.png.
 */
import { fileURLToPath } from 'node:url';
import type { Ecg } from '@ecgcad/ecg';
import { FhirClient, FhirWriter, SYSTEMS, smartAppOptions, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { createSession, loadModelFolder, Predictor } from '@ecgcad/infer';
import { decodeEcg } from '@ecgcad/ingest';
import type { Bundle, Observation, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ehrLaunch, freePort, launchChromium, startAppEngine } from './support/app-browser.js';
import { writerClient } from './support/app-results.js';
import { noteSkip, readSample, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';
import { docPicturePath } from './support/screenshots.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const MODEL_DIR = fileURLToPath(new URL('../models/ecgcad-demo', import.meta.url));
const IMAGE = docPicturePath('app-viewer-sample.png');
const MRN = 'MRN-APP-SAMPLES';
const LIMB_DERIVED = ['III', 'aVF', 'aVL', 'aVR'];

/** The samples, and how to tell their ECG Observations apart in the EHR (stored leads, sample period in ms). */
const SAMPLES = [
  { name: 'dicom_mortara_el250_12lead.dcm', leads: 12, periodMs: 1 },
  { name: 'aecg_hl7_2003_example.xml', leads: 12, periodMs: 2 },
  { name: 'ge_muse_restingecg_example1.xml', leads: 8, periodMs: 2 },
] as const;

describe.skipIf(!samplesPresent)('the app on real samples scored by the engine parts and written to the EHR', () => {
  let ehr: TestEhr;
  let engine: FastifyInstance;
  let browser: Browser;
  let appUrl: string;
  let token: string;
  let patientId = '';
  /** Sample name -> ECG Observation id in the EHR. */
  const observationOf = new Map<string, string>();

  const fhir = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${ehr.url}/${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    const port = await freePort();
    appUrl = `http://127.0.0.1:${port}/app/`;
    ehr = await startTestEhr({
      auth: { clients: [writerClient] },
      smart: smartAppOptions(appUrl),
      patients: [{ system: SYSTEMS.patientId, value: MRN }],
    });
    const client = new FhirClient({
      baseUrl: ehr.url,
      auth: {
        type: 'client-credentials',
        tokenUrl: ehr.tokenUrl,
        clientId: writerClient.clientId,
        clientSecret: writerClient.secret,
      },
    });
    const writer = new FhirWriter({ sink: client });
    const predictor = new Predictor(await createSession(await loadModelFolder(MODEL_DIR), { intraOpNumThreads: 2 }), {
      batching: { maxDelayMs: 2 },
      attribution: { when: 'always' },
    });
    try {
      for (const s of SAMPLES) {
        const decoded = decodeEcg(readSample(s.name), { feed: 'file', receivedAt: '2026-12-03T12:00:00Z' });
        // One patient in the EHR for all three (the files name their own, anonymised, patients).
        const ecg: Ecg = { ...decoded, patient: { identifier: MRN } };
        expect(Object.keys(ecg.leads)).toHaveLength(s.leads);
        const prediction = await predictor.predict(ecg);
        expect(prediction.status, s.name).toBe('scored');
        await writer.write(prediction, ecg);
      }
    } finally {
      await predictor.close();
    }
    token = ehr.tokens?.issue('test').token ?? '';
    const found = await fhir<Bundle>(`Patient?identifier=${SYSTEMS.patientId}|${MRN}`);
    patientId = found.entry?.[0]?.resource?.id ?? '';
    const ecgs = await fhir<Bundle>('Observation?code=http://loinc.org|34534-8&_count=100');
    for (const e of ecgs.entry ?? []) {
      const o = e.resource as Observation;
      const period = o.component?.[0]?.valueSampledData?.period;
      const s = SAMPLES.find((x) => x.leads === o.component?.length && x.periodMs === period);
      if (s) observationOf.set(s.name, o.id ?? '');
    }
    expect(observationOf.size).toBe(SAMPLES.length);
    engine = await startAppEngine(ehr, port);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await engine?.close();
    await ehr?.close();
  });

  it.each(SAMPLES)('$name: drawn from the EHR with the RiskAssessment numbers and attribution overlays', async (s) => {
    const { page, errors } = await ehrLaunch(browser, ehr, appUrl, patientId, { width: 1400, height: 1000 });
    await page.waitForSelector('tr[data-ecg]', { timeout: 30_000 });
    expect(await page.$$eval('tr[data-ecg]', (rows) => rows.length)).toBe(SAMPLES.length);
    const id = observationOf.get(s.name) ?? '';
    await page.click(`tr[data-ecg="${id}"] button.open`);
    await page.waitForSelector('path.ecgv-trace', { timeout: 30_000 });

    // 12 lead traces in the grid plus the lead II rhythm strip.
    const traces = await page.$$eval('path.ecgv-trace', (ps) =>
      ps.map((p) => ({ lead: p.getAttribute('data-lead'), row: p.getAttribute('data-row') })),
    );
    expect(traces.filter((t) => t.row !== 'rhythm')).toHaveLength(12);
    expect(traces.filter((t) => t.row === 'rhythm').map((t) => t.lead)).toEqual(['II']);
    expect(((await page.getAttribute('path.ecgv-rhythm', 'd')) ?? '').length).toBeGreaterThan(1000);
    // The viewer's stylesheet reaches the app page: traces are lines, not filled shapes.
    expect(await page.$eval('path.ecgv-rhythm', (p) => p.ownerDocument.defaultView?.getComputedStyle(p).fill)).toBe(
      'none',
    );
    const derived = await page.$$eval('text.ecgv-lead-label[data-derived="true"]', (ts) =>
      ts.map((t) => t.getAttribute('data-lead') ?? ''),
    );
    expect(derived.sort()).toEqual(s.leads === 8 ? LIMB_DERIVED : []);
    if (s.leads === 8) {
      expect(await page.$$('path.ecgv-trace[data-derived="true"]')).toHaveLength(4);
      expect(await page.textContent('text.ecgv-footer')).toContain('Derived from I and II: III, aVR, aVL, aVF');
    }

    // The probabilities shown (result table and viewer panel) are the RiskAssessment's in the EHR.
    const provenance = await fhir<Bundle>(`Provenance?target=Observation/${id}`);
    const raRef = ((provenance.entry?.[0]?.resource as Provenance | undefined)?.target ?? [])
      .map((t) => t.reference ?? '')
      .find((r) => r.startsWith('RiskAssessment/'));
    const ra = await fhir<RiskAssessment>(raRef ?? '');
    const expected = (ra.prediction ?? []).map((p) => ({
      vessel: p.outcome?.coding?.[0]?.code ?? '',
      probability: p.probabilityDecimal ?? Number.NaN,
    }));
    expect(expected).toHaveLength(4);
    const table = await page.$$eval('.result-table tbody tr', (rows) =>
      rows.map((r) => [r.getAttribute('data-vessel'), r.querySelector('.prob')?.textContent]),
    );
    expect(table).toEqual(expected.map((e) => [e.vessel, `${(e.probability * 100).toFixed(1)} %`]));
    const panel = await page.$$eval('.ecgv-vessel[data-probability]', (vs) =>
      vs.map((v) => ({
        vessel: v.getAttribute('data-vessel') ?? '',
        probability: Number(v.getAttribute('data-probability')),
      })),
    );
    expect(panel).toEqual(expected);

    // Attribution maps were written (attribution always on): a toggle per mapped vessel; one shows its bands.
    const toggles = await page.$$eval('button.ecgv-overlay-toggle', (bs) =>
      bs.map((b) => [b.getAttribute('data-vessel') ?? '', b.getAttribute('aria-pressed')]),
    );
    expect(toggles.length).toBeGreaterThan(0);
    for (const [, pressed] of toggles) expect(pressed).toBe('false');
    const vessel = toggles[0]?.[0] ?? '';
    expect(await page.$$(`g.ecgv-overlay[data-vessel="${vessel}"] rect:visible`)).toHaveLength(0);
    await page.click(`button.ecgv-overlay-toggle[data-vessel="${vessel}"]`);
    expect(await page.getAttribute(`button.ecgv-overlay-toggle[data-vessel="${vessel}"]`, 'aria-pressed')).toBe('true');
    const bands = await page.$$eval(`g.ecgv-overlay[data-vessel="${vessel}"] rect`, (rs) =>
      rs.filter((r) => r.getBoundingClientRect().width > 0).map((r) => r.getAttribute('class') ?? ''),
    );
    expect(bands.length).toBeGreaterThan(0);
    expect(bands.every((c) => /ecgv-attr-(raised|lowered)/.test(c))).toBe(true);
    if (s.leads === 8) await page.screenshot({ path: IMAGE, fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
