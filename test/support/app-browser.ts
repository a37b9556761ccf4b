/**
 * The pieces a browser test of the SMART app needs: a free port for the app's origin (the EHR's SMART config names
 * the app URL before the engine listens), the engine's /app routes on fastify, headless Chromium, and an EHR launch.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { TestEhr } from '@ecgcad/fhir-writer';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { appRoutes } from '../../packages/engine/src/app-routes.js';

export const CHROMIUM = '/usr/bin/chromium';

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The smallest engine piece that serves the app: its /app routes on fastify (the engine registers the same). */
export async function startAppEngine(ehr: TestEhr, port: number): Promise<FastifyInstance> {
  const engine = Fastify();
  await engine.register(appRoutes, { clientId: 'ecgcad-viewer', scope: 'launch patient/*.read', fhirBaseUrl: ehr.url });
  await engine.listen({ host: '127.0.0.1', port });
  return engine;
}

/** Headless Chromium with the project's flags; throws when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Opens the app the way the EHR does: its launcher URL with a patient. Collects page and console errors. */
export async function ehrLaunch(
  browser: Browser,
  ehr: TestEhr,
  appUrl: string,
  patient: string,
  viewport = { width: 1280, height: 800 },
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const q = new URLSearchParams({ app: `${appUrl}launch.html`, patient });
  await page.goto(`${ehr.origin}/smart/ehr-launch?${q}`);
  return { page, errors };
}
