/**
 * CDS Hooks latency benchmark: patient-view calls to the engine's CDS routes (fastify, this process) for a patient
 * with a result the real FhirWriter wrote (with PTP) to the test EHR (its own process), with the prefetch filled and
 * without it (the service reads the EHR itself), each call with a fresh ES384-signed JWT checked against a JWK Set
 * served over HTTP. Prints p50 / p95 / p99 per mode and a verdict against the CDS Hooks 500 ms target.
 * Tokens are signed before the timed phase; the client runs in this process too, so the times are an upper bound.
 * Run after `npm run build`: `npx tsx bench/cds.ts [--requests 500] [--concurrency 4]`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  cdsRoutes,
  createClientAuthenticator,
  createLogger,
  prefetchTemplates,
  ptpQuery,
  resultsQuery,
} from '@ecgcad/engine';
import { FhirClient } from '@ecgcad/fhir-writer';
import Fastify from 'fastify';
import { fillPrefetch, seedCdsEhr, startCdsClientIdentity } from '../test/support/cds-support.js';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '500' }, concurrency: { type: 'string', default: '4' } },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const TARGET_MS = 500;
const SERVICE = 'ecgcad-ecg-cad-risk';

const cli = fileURLToPath(new URL('../packages/fhir-writer/dist/test-ehr/cli.js', import.meta.url));
const child = spawn(process.execPath, [cli, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const ehrUrl = await new Promise<string>((resolve, reject) => {
  child.once('error', reject);
  child.stdout.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { url: string }).url));
});

/** CPU time (user + system) of a process so far, ms, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

const identity = await startCdsClientIdentity();
const app = Fastify();
let base = '';
try {
  const seeded = await seedCdsEhr(ehrUrl);
  await app.register(cdsRoutes, {
    authenticate: createClientAuthenticator({ clients: [{ iss: identity.iss, jwksUrl: identity.jwksUrl }] }),
    baseUrl: () => base,
    appLaunchUrl: 'https://engine.example.org/app/launch.html',
    recentDays: 365,
    maxCards: 3,
    orderCodes: [],
    data: {
      engine: { baseUrl: ehrUrl, searcher: new FhirClient({ baseUrl: ehrUrl, timeoutMs: 5000 }) },
      allowedFhirServers: [],
      timeoutMs: 5000,
    },
    logger: createLogger('silent'),
    // The seeded ECG is of 2026-11-26: the window is counted from just after it.
    now: () => new Date('2026-12-03T12:00:00Z'),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const aud = `${base}/cds-services/${SERVICE}`;
  const prefetch = await fillPrefetch(prefetchTemplates(), ehrUrl, seeded.highPatientId);
  const bodies = {
    prefetch: JSON.stringify({
      hook: 'patient-view',
      hookInstance: 'bench',
      context: { patientId: seeded.highPatientId },
      prefetch,
    }),
    'FHIR read': JSON.stringify({
      hook: 'patient-view',
      hookInstance: 'bench',
      fhirServer: ehrUrl,
      context: { patientId: seeded.highPatientId },
    }),
  };

  const run = async (body: string, count: number): Promise<number[]> => {
    const tokens = await Promise.all(Array.from({ length: count }, () => identity.sign(aud)));
    const times: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const token = tokens[next++];
          const started = performance.now();
          const res = await fetch(aud, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body,
          });
          const json = (await res.json()) as { cards?: Array<{ indicator: string }> };
          times.push(performance.now() - started);
          if (res.status !== 200 || json.cards?.[0]?.indicator !== 'warning') {
            throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(json).slice(0, 200)}`);
          }
        }
      }),
    );
    return times.sort((a, b) => a - b);
  };
  const quantile = (sorted: number[], q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

  console.log(
    `CDS Hooks patient-view, ${requests} calls per mode at concurrency ${concurrency} (EHR in its own process), ` +
      `load average ${loadavg()[0]?.toFixed(1)}`,
  );
  const p95: Record<string, number> = {};
  for (const [mode, body] of Object.entries(bodies)) {
    await run(body, 20); // warm-up: JWK Set fetch, JIT, connections
    const cpu0 = process.cpuUsage();
    const ehr0 = processCpuMs(child.pid);
    const times = await run(body, requests);
    const cpu = process.cpuUsage(cpu0);
    const ownMs = (cpu.user + cpu.system) / 1000 / requests;
    const ehrMs = (processCpuMs(child.pid) - ehr0) / requests;
    p95[mode] = quantile(times, 0.95);
    console.log(
      `  ${mode.padEnd(10)} p50 ${quantile(times, 0.5).toFixed(1)} ms  p95 ${quantile(times, 0.95).toFixed(1)} ms  ` +
        `p99 ${quantile(times, 0.99).toFixed(1)} ms  max ${(times.at(-1) ?? 0).toFixed(1)} ms  ` +
        `CPU per call: service + client ${ownMs.toFixed(1)} ms, EHR ${ehrMs.toFixed(1)} ms`,
    );
  }
  // The same two searches the service makes, straight to the EHR: what the FHIR-read mode cannot go below.
  const direct = new FhirClient({ baseUrl: ehrUrl, timeoutMs: 5000 });
  const bare: number[] = [];
  let left = requests;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const started = performance.now();
        await Promise.all([
          direct.search('Observation', { ...resultsQuery(seeded.highPatientId), date: 'ge2025-12-03' }),
          direct.search('RiskAssessment', { ...ptpQuery(seeded.highPatientId), date: 'ge2025-12-03' }),
        ]);
        bare.push(performance.now() - started);
      }
    }),
  );
  bare.sort((a, b) => a - b);
  console.log(
    `  ${'EHR alone'.padEnd(10)} p50 ${quantile(bare, 0.5).toFixed(1)} ms  p95 ${quantile(bare, 0.95).toFixed(1)} ms  ` +
      '(the two searches of the FHIR-read mode, without the service)',
  );
  const worst = Math.max(...Object.values(p95));
  console.log(
    `  p95 ratios: FHIR read / prefetch ${((p95['FHIR read'] ?? 0) / (p95.prefetch ?? 1)).toFixed(2)}x, ` +
      `FHIR read / EHR alone ${((p95['FHIR read'] ?? 0) / quantile(bare, 0.95)).toFixed(2)}x, ` +
      `worst / ${TARGET_MS} ms target ${(worst / TARGET_MS).toFixed(3)}`,
  );
  console.log(`verdict: ${worst < TARGET_MS ? 'PASS' : 'FAIL'} (p95 ${worst.toFixed(1)} ms vs ${TARGET_MS} ms)`);
} finally {
  await app.close();
  await identity.close();
  child.kill();
}
