/**
 * The queue dashboard in headless Chromium (Debian's, driven by playwright-core), on real Redis, the test EHR and the
 * engine's own HTTP server: it needs credentials (401 without), lists the three queues with the counts `ecgcad
 * status` reports, shows a dead-lettered write job with its patient masked, and a replay from the page moves the job
 * back to waiting for an operator (audited) and is refused for a viewer (the job stays failed). The page loads
 * nothing from outside the engine. Screenshots for docs/MONITORING.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type QueuedEngine, queueCounts, STATUS_COUNTS } from '@ecgcad/engine';
import { examplePrediction, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, startTestEngine, uniquePrefix, waitFor } from './pipeline-support.js';
import { docPicturePath } from './support/screenshots.js';

const CHROMIUM = '/usr/bin/chromium';
const OVERVIEW_SHOT = docPicturePath('ops-dashboard.png');
const JOB_SHOT = docPicturePath('ops-dashboard-job.png');

const OPERATOR = { username: 'alice', password: 'alice-token-0123456789abcdef' };
const VIEWER = { username: 'victor', password: 'victor-token-0123456789abcdef' };
/** The patient of the dead-lettered job: none of these may reach the page. */
const PATIENT = {
  identifier: 'MRN-DASH-4711',
  name: 'Zyxwvut^Quorra',
  birthDate: '1957-08-14',
  sex: 'female' as const,
};
const WRITE_JOB_ID = 'write-dashboard-1';

describe('queue dashboard in headless Chromium', () => {
  let ehr: TestEhr;
  let engine: QueuedEngine & { tmp: string };
  let browser: Browser;
  let base: string;
  const prefix = uniquePrefix('dashboard');

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    ehr = await startTestEhr();
    engine = await startTestEngine({
      prefix,
      fhirUrl: ehr.url,
      stages: ['write'],
      feeds: false,
      overrides: [
        // Conditional patient references: the EHR refuses a Bundle whose patient it does not know (400).
        { path: ['fhir', 'patientReference'], value: 'conditional' },
        {
          path: ['ops', 'users'],
          value: [`${OPERATOR.username}:operator:${OPERATOR.password}`, `${VIEWER.username}:viewer:${VIEWER.password}`],
        },
        { path: ['audit', 'intervalMs'], value: 200 },
      ],
    });
    base = `${engine.http!.url}/ops/queues`;
    // A write job whose patient the EHR does not know: dead-lettered at once by the real write worker.
    const prediction = examplePrediction({ ecgId: '1.2.826.0.1.3680043.8.498.4711' });
    prediction.ecg.patient = { ...PATIENT };
    await engine.queues.write.add('write', { prediction }, { jobId: WRITE_JOB_ID, attempts: 3 });
    await waitFor(
      'the write job to be dead-lettered',
      async () =>
        (await engine.queues.write.getJob(WRITE_JOB_ID))?.failedReason !== undefined &&
        (await engine.queues.write.getJobState(WRITE_JOB_ID)) === 'failed',
    );
    // No worker from here on: a replayed job stays waiting, where the test can see it.
    await engine.workers.write?.close();
    // Jobs nobody works on, so every queue shows counts of its own.
    for (let i = 0; i < 2; i++)
      await engine.queues.ingest.add('ingest', {
        payloadKey: `p-${i}`,
        feed: 'http',
        receivedAt: new Date().toISOString(),
      });
    for (let i = 0; i < 3; i++)
      await engine.queues.infer.add('infer', {
        ecgId: `e-${i}`,
        payloadKey: `q-${i}`,
        receivedAt: new Date().toISOString(),
      });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await engine?.close();
    await ehr?.close();
    await dropPrefix(prefix);
  });

  const open = async (credentials?: {
    username: string;
    password: string;
  }): Promise<{ context: BrowserContext; page: Page; requests: string[]; errors: string[] }> => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      ...(credentials ? { httpCredentials: credentials } : {}),
    });
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    return { context, page, requests, errors };
  };

  /** The job card's retry button: the circular-arrows icon without a label ("Retry all" has the same icon). */
  const retryButton = (page: Page) =>
    page.locator('button:has(svg path[d^="M3 12a9 9 0 0 1 9-9"])').filter({ hasNotText: 'Retry all' }).first();

  /** Every request a page made must go to the engine; no console error about the Content-Security-Policy. */
  const expectSelfContained = (requests: string[], errors: string[]): void => {
    expect(requests.length).toBeGreaterThan(3);
    for (const url of requests) expect(url.startsWith(`${engine.http!.url}/`), url).toBe(true);
    expect(errors.filter((e) => /Content.Security.Policy/i.test(e))).toEqual([]);
  };

  it('answers 401 with a Basic challenge without credentials or with a wrong token; the browser gets 401 too', async () => {
    const anonymous = await fetch(base);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="ecgcad ops"/);
    await anonymous.body?.cancel();
    const wrong = await fetch(`${base}/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`${OPERATOR.username}:${VIEWER.password}`).toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    const { context, page } = await open();
    // Headless Chromium cannot prompt: the navigation fails once the challenge is answered with nothing.
    const challenged = page.waitForResponse((r) => r.url() === base);
    await page.goto(base).catch(() => undefined);
    const challenge = await challenged;
    expect(challenge.status()).toBe(401);
    expect(await challenge.text()).not.toContain('ecg.write');
    await context.close();
  });

  it('viewer: lists the three queues with the counts ecgcad status reports, read-only, nothing loaded from elsewhere', async () => {
    const { context, page, requests, errors } = await open(VIEWER);
    const listed = page.waitForResponse((r) => r.url().startsWith(`${base}/api/queues`) && r.status() === 200);
    await page.goto(base);
    const body = (await (await listed).json()) as {
      queues: Array<{ name: string; counts: Record<string, number>; readOnlyMode: boolean }>;
    };
    const status = await queueCounts(engine.queues);
    expect(status.map((row) => row.queue).sort()).toEqual(['ecg.infer', 'ecg.ingest', 'ecg.write']);
    expect(body.queues.map((q) => q.name).sort()).toEqual(['ecg.infer', 'ecg.ingest', 'ecg.write']);
    for (const row of status) {
      const shown = body.queues.find((q) => q.name === row.queue);
      for (const state of STATUS_COUNTS) expect(shown?.counts[state] ?? 0, `${row.queue} ${state}`).toBe(row[state]);
      expect(shown?.readOnlyMode).toBe(true);
    }
    expect(status.find((row) => row.queue === 'ecg.write')).toMatchObject({ failed: 1, waiting: 0 });
    // The page shows them: for each queue an element of its own (no other queue's name in it) with its total.
    const names = ['ecg.ingest', 'ecg.infer', 'ecg.write'];
    for (const [name, ...shown] of [
      ['ecg.ingest', /2 Jobs/],
      ['ecg.infer', /3 Jobs/],
      ['ecg.write', /1 Job/, /FAILED\s*1/i],
    ] as const) {
      let card = page.locator('div', { has: page.getByText(name, { exact: true }) });
      for (const text of shown) card = card.filter({ hasText: text });
      for (const other of names.filter((n) => n !== name)) card = card.filter({ hasNotText: other });
      await expect.poll(() => card.count()).toBeGreaterThan(0);
    }
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: OVERVIEW_SHOT });
    expectSelfContained(requests, errors);
    await context.close();
  });

  it('viewer: the dead-lettered job shows with its patient masked; a replay is refused and the job stays failed', async () => {
    const { context, page, requests, errors } = await open(VIEWER);
    await page.goto(`${base}/queue/ecg.write?status=failed`);
    await page.getByText(WRITE_JOB_ID, { exact: true }).waitFor();
    await page.getByRole('tab', { name: 'Data' }).click();
    // Open the tree down to the patient.
    for (const key of ['ecg', 'patient']) {
      await page.locator(`[role=treeitem]:has(> span:text-is("${key}:")) > [aria-label="expand JSON"]`).click();
    }
    await page.locator('span:text-is("identifier:")').waitFor();
    const html = await page.content();
    for (const value of [PATIENT.identifier, 'Zyxwvut', 'Quorra', PATIENT.birthDate, '19570814']) {
      expect(html).not.toContain(value);
    }
    expect(html).toContain('"***"');
    // The ECG id and the probabilities stay readable: the operator needs them.
    expect(html).toContain('1.2.826.0.1.3680043.8.498.4711');
    await page.locator('span:text-is("sex:")').scrollIntoViewIfNeeded();
    await page.screenshot({ path: JOB_SHOT });
    // Read-only page: no retry button; the API refuses a replay all the same.
    expect(await retryButton(page).count()).toBe(0);
    const refused = await page.evaluate(async (url) => {
      const response = await fetch(url, { method: 'PUT' });
      return { status: response.status, body: await response.text() };
    }, `${base}/api/queues/ecg.write/${WRITE_JOB_ID}/retry`);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/operator role/);
    // Other changes are refused for everyone.
    const cleaned = await page.evaluate(
      async (url) => (await fetch(url, { method: 'PUT' })).status,
      `${base}/api/queues/ecg.write/${WRITE_JOB_ID}/clean`,
    );
    expect(cleaned).toBe(403);
    expect(await engine.queues.write.getJobState(WRITE_JOB_ID)).toBe('failed');
    // The job's JSON the page reads is masked too.
    const jobJson = await page.evaluate(
      async (url) => (await fetch(url)).text(),
      `${base}/api/queues/ecg.write/${WRITE_JOB_ID}`,
    );
    for (const value of [PATIENT.identifier, 'Zyxwvut', 'Quorra', PATIENT.birthDate])
      expect(jobJson).not.toContain(value);
    expectSelfContained(requests, errors);
    await context.close();
  });

  it('operator: a replay from the page moves the job back to waiting and is audited under the user name', async () => {
    const { context, page, requests, errors } = await open(OPERATOR);
    await page.goto(`${base}/queue/ecg.write?status=failed`);
    await page.getByText(WRITE_JOB_ID, { exact: true }).waitFor();
    await retryButton(page).click();
    const answered = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/retry'));
    await page.getByRole('button', { name: 'Confirm' }).click();
    expect((await answered).status()).toBe(204);
    expect(await engine.queues.write.getJobState(WRITE_JOB_ID)).toBe('waiting');
    const auditFile = join(engine.tmp, 'audit', 'audit.jsonl');
    const event = await waitFor('the replay in the audit file', async () => {
      if (!existsSync(auditFile)) return undefined;
      return readFileSync(auditFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"replayed"'))
        .map((line) => JSON.parse(line) as { agent: Array<{ who?: { display?: string } }>; entity: unknown[] })[0];
    });
    expect(event.agent[0]?.who?.display).toBe('alice (ops dashboard)');
    expect(JSON.stringify(event.entity)).toContain(`ecg.write/${WRITE_JOB_ID}`);
    expect(JSON.stringify(event)).not.toContain(PATIENT.identifier);
    expectSelfContained(requests, errors);
    await context.close();
  });
});
