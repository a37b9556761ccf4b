/**
 * The evaluation report in a real browser: headless Chromium (Debian's, driven by playwright-core) opens
 * report.html from a file:// URL with the network blocked, and the test checks that every chart has drawn content
 * and axis labels and that every number on the page equals evaluation.json. It saves a full-page screenshot to
 * docs/images/evaluation-report.png (the picture in the docs).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Evaluation, formatPValue, formatScoreRows, scoresHeader, syntheticCohort } from '@ecgcad/clinical';
import { generateModelFolder } from '@ecgcad/infer';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvaluate } from '../packages/engine/src/commands/evaluate.js';
import { docPicturePath } from './support/screenshots.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = docPicturePath('evaluation-report.png');

let browser: Browser;
let reportUrl: string;
let evaluation: Evaluation;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  const root = mkdtempSync(join(tmpdir(), 'ecgcad-report-'));
  const modelDir = join(root, 'model');
  await generateModelFolder({ outDir: modelDir, calibrationExamples: 0 });
  const scores = join(root, 'scores.csv');
  // Binormal scores with PTP inputs and MACE follow-up; LM all negative to show the not-evaluable notice.
  writeFileSync(
    scores,
    scoresHeader() + formatScoreRows(syntheticCohort({ n: 2000, seed: 2026, allNegative: ['LM'] })),
  );
  const result = await runEvaluate({
    scores,
    model: modelDir,
    out: join(root, 'out'),
    bootstrap: 200,
    now: () => new Date('2026-12-03T12:00:00Z'),
  });
  evaluation = JSON.parse(readFileSync(result.jsonPath, 'utf8')) as Evaluation;
  reportUrl = pathToFileURL(result.reportPath).href;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** Resolves a dotted JSON path ("vessels.0.auc.value"). */
const at = (root: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], root);

describe('evaluation report in headless Chromium', () => {
  it('renders offline: every chart has content and labels, every number equals evaluation.json', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    await context.setOffline(true);
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    await page.goto(reportUrl);
    expect(requests).toEqual([]); // self-contained: nothing but the file itself was asked for

    const banner = page.locator('#clinical-use-banner');
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.textContent()).toMatch(/^NOT FOR CLINICAL USE\. .*no clinical meaning/);

    const evaluable = evaluation.vessels.filter((v) => v.evaluable).map((v) => v.vessel);
    expect(evaluable).toEqual(['RCA', 'LAD', 'LCx']);
    for (const vessel of evaluable) {
      for (const [chart, minPoints] of [
        ['roc', 100],
        ['calibration', 100],
        ['decision', 50],
        ['km', 50],
      ] as const) {
        const svg = page.locator(`svg#${chart}-${vessel}`);
        const box = await svg.boundingBox();
        expect(box?.width, `${chart}-${vessel}`).toBeGreaterThan(300);
        expect(box?.height, `${chart}-${vessel}`).toBeGreaterThan(200);
        const content = await svg.evaluate((el) => ({
          title: el.querySelector('title')?.textContent ?? '',
          axisLabels: [...el.querySelectorAll('.axis-label')].map((t) => t.textContent),
          ticks: el.querySelectorAll('.tick-label').length,
          legend: el.querySelectorAll('.legend').length,
          // Drawn points of the longest path: its move/line/step commands, as the browser parsed them.
          longest: Math.max(
            ...[...el.querySelectorAll('path.series')].map((p) => (p.getAttribute('d')?.match(/[MLHV]/g) ?? []).length),
          ),
          length: Math.max(
            ...[...el.querySelectorAll('path.series')].map((p) =>
              (p as unknown as { getTotalLength(): number }).getTotalLength(),
            ),
          ),
        }));
        expect(content.title).toContain(vessel);
        expect(content.axisLabels).toHaveLength(2);
        for (const label of content.axisLabels) expect(label?.length).toBeGreaterThan(3);
        expect(content.ticks).toBeGreaterThanOrEqual(6);
        expect(content.legend).toBeGreaterThanOrEqual(2);
        expect(content.longest, `${chart}-${vessel} points`).toBeGreaterThanOrEqual(minPoints);
        expect(content.length, `${chart}-${vessel} drawn length`).toBeGreaterThan(100);
      }
      // Calibration deciles: ten markers with error bars.
      expect(await page.locator(`svg#calibration-${vessel} g.markers circle`).count()).toBe(10);
      expect(await page.locator(`svg#calibration-${vessel} line.error-bar`).count()).toBe(10);
    }
    expect(await page.locator('[data-not-evaluable="LM"]').textContent()).toMatch(/Not evaluable\. 0 positive/);
    expect(await page.locator('svg#roc-LM').count()).toBe(0);

    const shown = await page.locator('[data-json]').evaluateAll((els) =>
      els.map((el) => ({
        path: el.getAttribute('data-json') as string,
        scale: Number(el.getAttribute('data-scale')),
        digits: el.getAttribute('data-digits') as string,
        text: el.textContent ?? '',
      })),
    );
    expect(shown.length).toBeGreaterThan(400);
    for (const { path, scale, digits, text } of shown) {
      const value = at(evaluation, path);
      if (value === null || value === undefined) expect(text, path).toBe('–');
      else {
        const expected =
          digits === 'p' ? formatPValue(value as number) : ((value as number) * scale).toFixed(Number(digits));
        expect(text, path).toBe(expected);
      }
    }
    // Spot checks a reader would make.
    const rca = evaluation.vessels[0];
    expect(await page.locator('#summary tbody tr').first().textContent()).toContain(rca?.auc?.value.toFixed(3));
    expect(await page.locator('#vessel-RCA').textContent()).toContain(
      `Log-rank χ² ${rca?.survival?.logRank.chiSquare.toFixed(2)}`,
    );

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await context.close();
  });

  it('prints: each vessel starts a page on A4', async () => {
    const page = await browser.newPage();
    await page.goto(reportUrl);
    await page.emulateMedia({ media: 'print' });
    const breaks = await page
      .locator('section.vessel')
      .evaluateAll((els) =>
        els.map(
          (el) =>
            (globalThis as unknown as { getComputedStyle(e: unknown): { breakBefore: string } }).getComputedStyle(el)
              .breakBefore,
        ),
      );
    expect(breaks).toEqual(['page', 'page', 'page', 'page']);
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    // The summary page, then at least one page per vessel.
    expect(pages).toBeGreaterThanOrEqual(1 + evaluation.vessels.length);
    await page.close();
  });
});
