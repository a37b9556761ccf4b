/**
 * The ecgcad app end to end in a real browser: the test EHR with SMART App Launch and results written by the real
 * FhirWriter (two patients), the engine's /app routes serving the built app, headless Chromium (playwright-core).
 * An EHR launch from the test EHR's launcher opens the worklist of one patient: only that patient's ECGs, high
 * first then newest; a click (or Enter) opens the ECG, whose probabilities and strata equal the RiskAssessment's;
 * a CDS card's appContext opens its ECG directly; a revoked or expired token asks to sign in again. Nothing about
 * the patient goes to the URL or localStorage. Screenshots go to docs/images/app-worklist.png and app-viewer.png and
 * are compared with the references in test/screenshots/ (ECGCAD_UPDATE_SCREENSHOTS=1 rewrites them).
 */
import { fileURLToPath } from 'node:url';
import { SYSTEMS, smartAppOptions, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import type { Bundle, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, launchChromium, startAppEngine } from './support/app-browser.js';
import {
  NO_WAVEFORM_UID,
  PATIENT_MRN,
  SEEDED,
  seededPatients,
  seedResults,
  writerClient,
} from './support/app-results.js';
import { differenceFromReference, docPicturePath } from './support/screenshots.js';

const image = docPicturePath;
const reference = (name: string) => fileURLToPath(new URL(`./screenshots/${name}`, import.meta.url));

let browser: Browser;
let ehr: TestEhr;
let engine: FastifyInstance;
let appUrl: string;
let token: string;
const patientId: Record<'A' | 'B', string> = { A: '', B: '' };
/** ECG Observation id -> seeded uid. */
const uidOf = new Map<string, string>();

async function fhir<T>(path: string): Promise<T> {
  const res = await fetch(`${ehr.url}/${path}`, { headers: { authorization: `Bearer ${token}` } });
  return (await res.json()) as T;
}

beforeAll(async () => {
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}/app/`;
  ehr = await startTestEhr({
    auth: { clients: [writerClient] },
    smart: smartAppOptions(appUrl),
    patients: seededPatients(),
  });
  await seedResults(ehr);
  token = ehr.tokens?.issue('test').token ?? '';
  for (const p of ['A', 'B'] as const) {
    const found = await fhir<Bundle>(`Patient?identifier=${SYSTEMS.patientId}|${PATIENT_MRN[p]}`);
    patientId[p] = found.entry?.[0]?.resource?.id ?? '';
  }
  const ecgs = await fhir<Bundle>('Observation?code=http://loinc.org|34534-8&_count=100');
  for (const e of ecgs.entry ?? []) {
    const uid = (e.resource as { identifier?: { value?: string }[] }).identifier?.[0]?.value?.replace('urn:oid:', '');
    uidOf.set(e.resource?.id ?? '', uid ?? '');
  }
  engine = await startAppEngine(ehr, port);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await engine?.close();
  await ehr?.close();
});

/** Opens the app the way the EHR does: its launcher URL with a patient (and an appContext). */
async function ehrLaunch(
  patient: string,
  appContext?: string,
): Promise<{ page: Page; errors: string[]; urls: string[]; console: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const urls: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Console errors include CSP violations (a script or style the policy refused) and failed requests.
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('request', (r) => {
    if (r.url().startsWith(appUrl)) urls.push(r.url());
  });
  const q = new URLSearchParams({ app: `${appUrl}launch.html`, patient, ...(appContext ? { appContext } : {}) });
  await page.goto(`${ehr.origin}/smart/ehr-launch?${q}`);
  return { page, errors, urls, console: consoleErrors };
}

describe('the app in a browser after an EHR launch', () => {
  it("lists only the patient's ECGs, high risk first then newest, and opens one whose numbers equal the RiskAssessment", async () => {
    const { page, errors, urls, console: consoleErrors } = await ehrLaunch(patientId.A);
    await page.waitForSelector('tr[data-ecg]', { timeout: 30_000 });
    await page.waitForSelector('.status:has-text("shown")');
    const ids = await page.$$eval('tr[data-ecg]', (rows) => rows.map((r) => r.getAttribute('data-ecg') ?? ''));
    expect(ids.map((id) => uidOf.get(id))).toEqual([
      '1.2.3.100.2',
      '1.2.3.100.5',
      '1.2.3.100.4',
      '1.2.3.100.3',
      '1.2.3.100.1',
    ]);
    const high = await page.$$eval('tr[data-ecg]', (rows) => rows.map((r) => r.classList.contains('high')));
    expect(high).toEqual([true, true, false, false, false]);
    const na = await page.textContent(`tr[data-ecg] .quality.na`);
    expect(na).toContain('lead V2 disconnected');
    const worklistShot = await page.screenshot({ path: image('app-worklist.png'), fullPage: true });
    // The worklist against its committed reference (1.5 % of pixels may differ: fonts vary between hosts).
    expect(await differenceFromReference(browser, worklistShot, reference('app-worklist.png'))).toBeLessThan(0.015);

    // Nothing about the patient in the address bar (fhirclient removed code and state) or in localStorage.
    expect(page.url()).toBe(`${appUrl}index.html`);
    for (const url of urls) expect(url).not.toContain(patientId.A);
    expect(await page.evaluate('localStorage.length')).toBe(0);

    // Keyboard: the first row's button takes focus and Enter opens the ECG.
    await page.focus('tr[data-ecg] button.open');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.result-table');
    const shown = await page.$$eval('.result-table tbody tr', (rows) =>
      rows.map((r) => ({
        vessel: r.getAttribute('data-vessel'),
        stratum: r.querySelector('.stratum')?.textContent,
        prob: r.querySelector('.prob')?.textContent,
      })),
    );
    // The RiskAssessment of that ECG, found as the app does: through its Provenance.
    const provenance = await fhir<Bundle>(`Provenance?target=Observation/${ids[0]}`);
    const raRef = ((provenance.entry?.[0]?.resource as Provenance | undefined)?.target ?? [])
      .map((t) => t.reference ?? '')
      .find((r) => r.startsWith('RiskAssessment/'));
    const ra = await fhir<RiskAssessment>(raRef ?? '');
    const expected = (ra.prediction ?? []).map((p) => ({
      vessel: p.outcome?.coding?.[0]?.code,
      stratum: { low: 'Low', moderate: 'Intermediate', high: 'High' }[p.qualitativeRisk?.coding?.[0]?.code ?? ''],
      prob: `${((p.probabilityDecimal ?? 0) * 100).toFixed(1)} %`,
    }));
    expect(shown).toEqual(expected);
    expect(shown.find((s) => s.vessel === 'RCA')?.stratum).toBe('High');
    const ecgPageShot = await page.screenshot({ path: image('app-viewer.png'), fullPage: true });
    expect(await differenceFromReference(browser, ecgPageShot, reference('app-viewer.png'))).toBeLessThan(0.015);

    // Back returns to the worklist with its rows, focus on the row that was opened.
    await page.click('button.back');
    await page.waitForSelector('tr[data-ecg]', { state: 'visible' });
    expect(await page.evaluate(`document.activeElement?.closest('tr')?.getAttribute('data-ecg')`)).toBe(ids[0]);
    expect(errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it("shows the other patient's ECGs only to a launch with that patient, and filters by vessel", async () => {
    const { page } = await ehrLaunch(patientId.B);
    await page.waitForSelector('.status:has-text("shown")');
    const ids = await page.$$eval('tr[data-ecg]', (rows) => rows.map((r) => r.getAttribute('data-ecg') ?? ''));
    expect(ids.map((id) => uidOf.get(id))).toEqual(['1.2.3.200.1', '1.2.3.200.2']);
    await page.selectOption('#filter-show', 'high-RCA');
    await page.waitForSelector('.status:has-text("No ECG results match")');
    await page.selectOption('#filter-show', 'high-LAD');
    await page.waitForSelector('tr[data-ecg]');
    expect(await page.$$eval('tr[data-ecg]', (rows) => rows.length)).toBe(1);

    // An ECG written without its waveform: the result shows, with a sentence instead of the tracing.
    await page.selectOption('#filter-show', 'all');
    await page.waitForSelector('tr[data-ecg] >> nth=1');
    const bare = [...uidOf.entries()].find(([, uid]) => uid === NO_WAVEFORM_UID)?.[0] ?? '';
    await page.click(`tr[data-ecg="${bare}"] button.open`);
    await page.waitForSelector('.result-table');
    expect(await page.textContent('.tracing')).toContain('no waveform');
    await page.click('button.back');

    // The EHR unreachable: a clear message, not a blank page.
    await page.route(`${ehr.url}/**`, (route) => route.abort('connectionrefused'));
    await page.selectOption('#filter-show', 'not-analysable');
    const alert = await page.waitForSelector('[role=alert]');
    expect(await alert.textContent()).toContain('The EHR cannot be reached');
    await page.context().close();
  });

  it("opens the ECG a CDS card's appContext names directly", async () => {
    const target = [...uidOf.entries()].find(([, uid]) => uid === '1.2.3.100.5')?.[0] ?? '';
    const { page } = await ehrLaunch(patientId.A, JSON.stringify({ ecg: target }));
    await page.waitForSelector('.result-table', { timeout: 30_000 });
    const probs = await page.$$eval('.result-table .prob', (cells) => cells.map((c) => c.textContent));
    const seeded = SEEDED.find((s) => s.ecgUid === '1.2.3.100.5')?.probabilities ?? [];
    expect(probs).toEqual(seeded.map((p) => `${(p * 100).toFixed(1)} %`));
    await page.context().close();
  });

  it('runs a standalone launch: the EHR asks for the patient, the worklist then shows that patient only', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${appUrl}launch.html`);
    await page.waitForSelector('input[name=patient]', { timeout: 30_000 });
    await page.check(`input[name=patient][value="${patientId.B}"]`);
    await page.click('button[type=submit]');
    await page.waitForSelector('.status:has-text("shown")');
    const ids = await page.$$eval('tr[data-ecg]', (rows) => rows.map((r) => r.getAttribute('data-ecg') ?? ''));
    expect(ids.map((id) => uidOf.get(id))).toEqual(['1.2.3.200.1', '1.2.3.200.2']);
    expect(page.url()).toBe(`${appUrl}index.html`);
    await context.close();
  });

  it('asks to sign in again when the EHR no longer takes the token', async () => {
    const { page, errors } = await ehrLaunch(patientId.A);
    await page.waitForSelector('tr[data-ecg]', { timeout: 30_000 });
    ehr.tokens?.revokeAll();
    token = ehr.tokens?.issue('test').token ?? '';
    await page.selectOption('#filter-show', 'high');
    const alert = await page.waitForSelector('[role=alert]');
    expect(await alert.textContent()).toContain('Your session has ended');
    expect(await page.getAttribute('a.sign-in', 'href')).toBe('launch.html');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
