/**
 * End to end: N synthetic 10 s 12-lead ECGs sent into a queued engine (what `ecgcad serve` runs: C-STORE SCP + HTTP
 * feeds + ingest/infer/write workers on Redis) half over DICOM C-STORE (dcmtk storescu, TCP_NODELAY=1) and half
 * over HTTP (POST /ecg, DICOM body), to FHIR transaction Bundles in the test EHR. Prints ECG/s, p50 and p95 latency
 * from receipt at the feed to the Bundle accepted by the EHR, and the ratio to the infer stage alone (Predictor on
 * the same model, same batching, same number of ECGs in flight). Target ratio >= 0.80.
 *
 *   npx turbo run build && npx tsx bench/e2e.ts [--count 400] [--model models/ecgcad-net1d-full]
 *
 * Everything (engine, test EHR, storescu, the HTTP sender) shares this machine, so the ratio is the honest measure.
 * Redis on 127.0.0.1:6379 must be up; the run uses its own key prefix and deletes it afterwards.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import { createLogger, loadConfig, predictorFromConfig, startQueuedEngine } from '@ecgcad/engine';
import { startTestEhr } from '@ecgcad/fhir-writer';
import { decodeEcg, writeDicomEcg } from '@ecgcad/ingest';
import { Redis } from 'ioredis';

const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 400;
const modelArg = process.argv.indexOf('--model');
const MODEL_DIR = modelArg > 0 ? process.argv[modelArg + 1] : undefined;
const API_KEY = 'bench-key-0123456789abcdef';
const run = promisify(execFile);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis('redis://127.0.0.1:6379');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

const tag = randomUUID().slice(0, 8);
const prefix = `{ecgcad-bench-${tag}}`;
const bases: Ecg[] = Array.from({ length: 10 }, (_, i) => synthesizeEcg({ seed: 900 + i, fast: true }));
const files = Array.from({ length: COUNT }, (_, i) =>
  writeDicomEcg({ ...(bases[i % bases.length] as Ecg), id: `bench-${tag}-${i}` }),
);
const dir = await mkdtemp(join(tmpdir(), 'ecgcad-bench-'));
const half = Math.floor(COUNT / 2);
const dicomPaths: string[] = [];
for (let i = 0; i < half; i++) {
  const path = join(dir, `ecg-${i}.dcm`);
  await writeFile(path, files[i] as Uint8Array);
  dicomPaths.push(path);
}
const httpBodies = files.slice(half);

const config = loadConfig({
  env: {},
  overrides: [
    { path: ['redis', 'prefix'], value: prefix },
    { path: ['http', 'port'], value: 0 },
    { path: ['http', 'host'], value: '127.0.0.1' },
    { path: ['http', 'apiKeys'], value: [API_KEY] },
    { path: ['dimse', 'port'], value: 0 },
    { path: ['dimse', 'host'], value: '127.0.0.1' },
    { path: ['rejectedDir'], value: join(dir, 'rejected') },
    { path: ['fhir', 'patientReference'], value: 'logical' },
    { path: ['fhir', 'unidentified'], value: 'placeholder' },
    { path: ['model', 'dir'], value: MODEL_DIR },
  ],
});

// 1. The infer stage alone: decoded ECGs through the Predictor, as many in flight as the infer worker allows.
const decoded = files.map((bytes) => decodeEcg(bytes, { feed: 'bench' }));
const predictor = await predictorFromConfig(config);
await Promise.all(decoded.slice(0, 32).map((ecg) => predictor.predict(ecg))); // warm-up
let next = 0;
const inferStart = performance.now();
await Promise.all(
  Array.from({ length: config.workers.infer }, async () => {
    while (next < decoded.length) await predictor.predict(decoded[next++] as Ecg);
  }),
);
const inferSeconds = (performance.now() - inferStart) / 1000;
await predictor.close();
const inferRate = COUNT / inferSeconds;

// 2. End to end through the queued engine.
const ehr = await startTestEhr();
const engine = await startQueuedEngine({
  config: { ...config, fhir: { ...config.fhir, url: ehr.url } },
  stages: ['ingest', 'infer', 'write'],
  feeds: true,
  logger: createLogger('error'),
});
const e2eStart = performance.now();
const sendDicom = run('storescu', ['-aec', 'ECGCAD', '-nh', '127.0.0.1', String(engine.dimse?.port), ...dicomPaths], {
  env: { ...process.env, TCP_NODELAY: '1' },
  maxBuffer: 64 * 1024 * 1024,
});
let nextBody = 0;
const sendHttp = Promise.all(
  Array.from({ length: 8 }, async () => {
    while (nextBody < httpBodies.length) {
      const body = httpBodies[nextBody++] as Uint8Array;
      const response = await fetch(`${engine.http?.url}/ecg`, {
        method: 'POST',
        headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
        body: Buffer.from(body),
      });
      if (response.status !== 202) throw new Error(`POST /ecg answered ${response.status}`);
      await response.arrayBuffer();
    }
  }),
);
await Promise.all([sendDicom, sendHttp]);
for (;;) {
  const { completed = 0, failed = 0 } = await engine.queues.write.getJobCounts('completed', 'failed');
  if (completed + failed >= COUNT) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const e2eSeconds = (performance.now() - e2eStart) / 1000;
const jobs = await engine.queues.write.getCompleted(0, COUNT);
const latencies = jobs
  .map((job) => (job.finishedOn ?? 0) - Date.parse(job.data.prediction.ecg.receivedAt))
  .sort((a, b) => a - b);
const failed = await engine.queues.write.getFailedCount();
await engine.close();
await ehr.close();
await dropPrefix(prefix);
await rm(dir, { recursive: true, force: true });

const e2eRate = COUNT / e2eSeconds;
const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
console.log(
  `model: ${config.model.dir.split('/').pop()}, maxBatch ${config.model.maxBatch}, infer concurrency ${config.workers.infer}`,
);
console.log(`ECGs: ${COUNT} (${half} over C-STORE, ${COUNT - half} over HTTP), failed writes: ${failed}`);
console.log(`infer stage alone:  ${inferRate.toFixed(1)} ECG/s`);
console.log(`end to end:         ${e2eRate.toFixed(1)} ECG/s`);
console.log(
  `receipt -> FHIR write latency: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms`,
);
console.log(`ratio end-to-end / infer alone: ${(e2eRate / inferRate).toFixed(2)} (target >= 0.80)`);
