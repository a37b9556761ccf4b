/**
 * The SMART App Launch entry point (launch.html). EHR launch: the EHR opens this page with `iss` and `launch`.
 * Standalone launch: opened directly, it signs in to the FHIR server in config.json (served by the engine at
 * /app/config.json) and asks for a patient (`launch/patient`). PKCE (S256) is required; the only state kept is
 * fhirclient's in sessionStorage.
 */
import FHIR from 'fhirclient';
import { el } from './dom.js';
import { problemOf } from './messages.js';

/** The engine's /app/config.json. */
interface AppConfig {
  clientId: string;
  scope: string;
  fhirBaseUrl?: string;
}

async function launch(): Promise<void> {
  const config = (await (await fetch('config.json', { cache: 'no-store' })).json()) as AppConfig;
  const params = new URLSearchParams(window.location.search);
  const ehrLaunch = params.has('iss') && params.has('launch');
  const standalone = !params.has('iss');
  if (standalone && !config.fhirBaseUrl) throw new Error('not launched: no FHIR server configured');
  const scope =
    standalone && !/\blaunch\/patient\b/.test(config.scope) ? `${config.scope} launch/patient` : config.scope;
  await FHIR.oauth2.authorize({
    clientId: config.clientId,
    scope: ehrLaunch || standalone ? scope : config.scope,
    redirectUri: 'index.html',
    pkceMode: 'required',
    ...(standalone && config.fhirBaseUrl ? { iss: config.fhirBaseUrl } : {}),
  });
}

launch().catch((error: unknown) => {
  const problem = problemOf(error);
  const main = document.getElementById('launch') ?? document.body;
  main.replaceChildren(
    el('div', { role: 'alert', class: 'problem' }, el('h1', {}, problem.title), el('p', {}, problem.detail)),
  );
});
