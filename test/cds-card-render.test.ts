/**
 * How the CDS card looks in an EHR: the patient-view answer for the high-risk patient (test EHR, results written by
 * the real FhirWriter, the engine's CDS routes over HTTP) is drawn by a small EHR-style card renderer written here
 * and shown in headless Chromium. The renderer escapes all card text first and turns only the Markdown the detail
 * uses (paragraphs, blockquote, bold, tables, lists) into HTML; raw HTML in a card is never injected. Checked in the
 * page: the title is the card's summary (under 140 characters), the indicator shown is "warning", the detail table
 * has a row per vessel, the SMART link button carries its label and appContext, and a card with HTML in its text
 * renders that HTML as text. Saves docs/images/cds-card.png (support/screenshots.ts: docPicturePath).
 */
import { existsSync } from 'node:fs';
import {
  type CdsRoutesOptions,
  cdsResponseSchema,
  cdsRoutes,
  createClientAuthenticator,
  prefetchTemplates,
} from '@ecgcad/engine';
import { FhirClient, startTestEhr, type TestEhr } from '@ecgcad/fhir-writer';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CdsClientIdentity,
  fillPrefetch,
  type SeededEhr,
  seedCdsEhr,
  startCdsClientIdentity,
} from './support/cds-support.js';
import { docPicturePath } from './support/screenshots.js';

const CHROMIUM = '/usr/bin/chromium';
const IMAGE = docPicturePath('cds-card.png');
const APP = 'https://viewer.example.org/app/launch.html';
const SERVICE = 'ecgcad-ecg-cad-risk';

type Card = ReturnType<typeof cdsResponseSchema.parse>['cards'][number];

/** Escapes text for HTML element content and attribute values. */
function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Inline Markdown on already escaped text: backslash escapes and **bold** only. */
function inline(text: string): string {
  return escapeHtml(text)
    .replace(/\\([\\`*_{}[\]()#+\-.!|~])/g, (_all, c: string) => `&#${c.charCodeAt(0)};`)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
}

/** Splits a table row on pipes that are not backslash-escaped. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The subset of GitHub-flavoured Markdown the detail uses, block by block (blank-line separated). */
function markdown(source: string): string {
  return source
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((l) => l.trim().startsWith('|')) && lines.length >= 2 && /^\|?[\s:|-]+$/.test(lines[1] ?? '')) {
        const [head = '', , ...body] = lines;
        const th = cells(head).map((c) => `<th>${inline(c)}</th>`);
        const rows = body.map(
          (r) =>
            `<tr>${cells(r)
              .map((c) => `<td>${inline(c)}</td>`)
              .join('')}</tr>`,
        );
        return `<table><thead><tr>${th.join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
      }
      if (lines.every((l) => l.startsWith('>'))) {
        return `<blockquote>${markdown(lines.map((l) => l.replace(/^> ?/, '')).join('\n'))}</blockquote>`;
      }
      if (lines.every((l) => /^[-*] /.test(l))) {
        return `<ul>${lines.map((l) => `<li>${inline(l.slice(2))}</li>`).join('')}</ul>`;
      }
      return `<p>${lines.map(inline).join('<br>')}</p>`;
    })
    .join('');
}

const INDICATOR_COLOUR = { info: '#1f6feb', warning: '#d97706', critical: '#c62828' } as const;

/** A static, script-free page showing one card the way an EHR's CDS panel does. */
function cardPage(card: Card): string {
  const colour = INDICATOR_COLOUR[card.indicator];
  const links = (card.links ?? [])
    .map(
      (l) =>
        `<button type="button" class="cds-link" data-type="${escapeHtml(l.type)}" data-url="${escapeHtml(l.url)}"` +
        ` data-app-context="${escapeHtml(l.appContext ?? '')}">${escapeHtml(l.label)}</button>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>CDS card</title><style>
body { font: 14px/1.45 system-ui, sans-serif; background: #eef1f4; margin: 0; padding: 16px; color: #1b1f24; }
.cds-panel { width: 680px; padding: 12px; background: #eef1f4; }
.cds-panel h1 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #57606a; margin: 0 0 8px; }
.cds-card { background: #fff; border: 1px solid #d0d7de; border-left: 6px solid ${colour}; border-radius: 4px;
  padding: 12px 16px; }
.cds-indicator { display: inline-block; font-size: 11px; font-weight: 600; text-transform: uppercase; color: #fff;
  background: ${colour}; border-radius: 3px; padding: 1px 6px; }
.cds-summary { font-size: 16px; font-weight: 600; margin: 6px 0 8px; }
.cds-detail table { border-collapse: collapse; margin: 8px 0; }
.cds-detail th, .cds-detail td { border: 1px solid #d0d7de; padding: 3px 10px; text-align: left; }
.cds-detail th { background: #f6f8fa; }
.cds-detail blockquote { margin: 0 0 8px; padding: 4px 12px; border-left: 3px solid #d0d7de; color: #57606a; }
.cds-detail p { margin: 6px 0; }
.cds-footer { display: flex; justify-content: space-between; align-items: center; margin-top: 10px; }
.cds-source { font-size: 12px; color: #57606a; }
.cds-link { font: inherit; font-weight: 600; color: #fff; background: #0969da; border: 0; border-radius: 4px;
  padding: 6px 14px; }
</style></head><body><section class="cds-panel"><h1>Decision support</h1>
<article class="cds-card" data-indicator="${escapeHtml(card.indicator)}">
<span class="cds-indicator">${escapeHtml(card.indicator)}</span>
<div class="cds-summary">${escapeHtml(card.summary)}</div>
<div class="cds-detail">${markdown(card.detail ?? '')}</div>
<div class="cds-footer"><span class="cds-source">Source: ${escapeHtml(card.source.label)}</span>${links}</div>
</article></section></body></html>`;
}

describe('the CDS card as an EHR shows it', () => {
  let ehr: TestEhr;
  let seeded: SeededEhr;
  let client: CdsClientIdentity;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    ehr = await startTestEhr();
    seeded = await seedCdsEhr(ehr.url);
    client = await startCdsClientIdentity();
    app = Fastify();
    const options: CdsRoutesOptions = {
      authenticate: createClientAuthenticator({ clients: [{ iss: client.iss, jwksUrl: client.jwksUrl }] }),
      baseUrl: () => base,
      appLaunchUrl: APP,
      recentDays: 365,
      maxCards: 3,
      orderCodes: [],
      data: {
        engine: { baseUrl: ehr.url, searcher: new FhirClient({ baseUrl: ehr.url }) },
        allowedFhirServers: [],
        timeoutMs: 5000,
      },
      logger: pino({ level: 'silent' }),
      now: () => new Date('2026-12-03T12:00:00Z'),
    };
    await app.register(cdsRoutes, options);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 740, height: 600 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await client?.close();
    await ehr?.close();
  });

  it('draws the patient-view warning card with its summary, detail table, source and SMART link button', async () => {
    const prefetch = await fillPrefetch(prefetchTemplates(), ehr.url, seeded.highPatientId);
    const res = await fetch(`${base}/cds-services/${SERVICE}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await client.sign(`${base}/cds-services/${SERVICE}`)}`,
      },
      body: JSON.stringify({
        hook: 'patient-view',
        hookInstance: crypto.randomUUID(),
        context: { userId: 'Practitioner/example', patientId: seeded.highPatientId },
        prefetch,
      }),
    });
    expect(res.status).toBe(200);
    const [card] = cdsResponseSchema.parse(await res.json()).cards;
    if (!card) throw new Error('no card');
    const link = card.links?.[0];
    if (!link) throw new Error('no link');

    await page.setContent(cardPage(card));
    const summary = (await page.locator('.cds-summary').textContent()) ?? '';
    expect(summary).toBe(card.summary);
    expect(summary.length).toBeLessThan(140);
    expect(await page.locator('.cds-indicator').textContent()).toBe('warning');
    expect(await page.locator('.cds-card').getAttribute('data-indicator')).toBe('warning');
    // A string expression: the tests' tsconfig has no DOM types.
    const border = await page.evaluate<string>("getComputedStyle(document.querySelector('.cds-card')).borderLeftColor");
    expect(border).toBe('rgb(217, 119, 6)'); // the warning colour, not info's or critical's
    // The detail's Markdown became a table with a row per vessel, bold strata as <strong>, and no literal **.
    const rows = page.locator('.cds-detail tbody tr');
    expect(await rows.count()).toBe(4);
    expect(
      await page.locator('.cds-detail tbody tr', { hasText: 'LAD' }).locator('td strong').first().textContent(),
    ).toBe('high');
    expect(await page.locator('.cds-detail').textContent()).not.toContain('**');
    expect(await page.locator('.cds-source').textContent()).toBe(`Source: ${card.source.label}`);
    const button = page.locator('button.cds-link');
    expect(await button.textContent()).toBe(link.label);
    expect(await button.getAttribute('data-app-context')).toBe(link.appContext);
    expect(JSON.parse((await button.getAttribute('data-app-context')) ?? '{}')).toEqual({ ecg: seeded.highEcgId });
    expect(await button.getAttribute('data-url')).toBe(APP);
    await page.locator('.cds-panel').screenshot({ path: IMAGE });
  });

  it('shows HTML in a card as text, never as markup', async () => {
    const hostile: Card = {
      summary: '<img src=x id=s>',
      indicator: 'info',
      detail: '**<b id=d>x</b>**\n\n| a | b |\n| --- | --- |\n| <script id=t></script> | \\| |',
      source: { label: '<i id=l>src</i>' },
    };
    await page.setContent(cardPage(hostile));
    expect(await page.locator('#s, #d, #t, #l, img, script, b, i').count()).toBe(0);
    expect(await page.locator('.cds-summary').textContent()).toBe('<img src=x id=s>');
    expect(await page.locator('.cds-detail strong').textContent()).toBe('<b id=d>x</b>');
    expect(await page.locator('.cds-detail td').nth(1).textContent()).toBe('|');
  });
});
