#!/usr/bin/env node
/**
 * Runs the test EHR on its own for demos:
 *   node packages/fhir-writer/dist/test-ehr/cli.js --port 8103 [--host 127.0.0.1]
 *     [--client-id ecgcad --client-secret s3cret] [--jwks client-public.jwks.json]
 *     [--patient https://hospital.example/mrn|MRN-000123 ...]
 *     [--app-url http://127.0.0.1:8080/app/ [--app-client-id ecgcad-viewer] [--default-patient <Patient id>]]
 * With --client-id, /fhir needs a bearer token from /token (client secret and/or SMART assertion keys).
 * With --app-url, SMART App Launch is on for that app (public client, redirect URI <app-url>index.html, launch URL
 * <app-url>launch.html): open <origin>/smart/launcher to launch it with a patient; /fhir then needs a token too.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { startTestEhr } from './server.js';
import { smartAppOptions } from './smart.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8103' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    jwks: { type: 'string' },
    patient: { type: 'string', multiple: true },
    'app-url': { type: 'string' },
    'app-client-id': { type: 'string', default: 'ecgcad-viewer' },
    'default-patient': { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('--port: must be an integer in 0..65535');
  process.exit(2);
}
const clientId = values['client-id'];
let jwks: JWK[] | undefined;
if (values.jwks) {
  const parsed = JSON.parse(readFileSync(values.jwks, 'utf8')) as { keys?: JWK[] } | JWK;
  jwks = 'keys' in parsed && Array.isArray(parsed.keys) ? parsed.keys : [parsed as JWK];
}
const patients = (values.patient ?? []).map((p) => {
  const bar = p.lastIndexOf('|');
  return bar < 0 ? { value: p } : { system: p.slice(0, bar), value: p.slice(bar + 1) };
});

const smart = values['app-url']
  ? smartAppOptions(values['app-url'], values['app-client-id'], values['default-patient'])
  : undefined;

const ehr = await startTestEhr({
  port,
  host: values.host,
  patients,
  ...(smart ? { smart } : {}),
  ...(clientId
    ? {
        auth: {
          clients: [
            {
              clientId,
              ...(values['client-secret'] ? { secret: values['client-secret'] } : {}),
              ...(jwks ? { jwks } : {}),
            },
          ],
        },
      }
    : {}),
});
console.log(
  JSON.stringify({
    msg: 'test EHR listening',
    url: ehr.url,
    tokenUrl: ehr.tokenUrl,
    auth: !!clientId || !!smart,
    ...(smart ? { launcher: `${ehr.origin}/smart/launcher` } : {}),
  }),
);
const stop = (): void => {
  ehr.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
