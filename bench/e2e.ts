/**
 * End to end: N synthetic 10 s 12-lead ECGs sent into a queued engine (what `ecgcad serve` runs: C-STORE SCP + HTTP
 * feeds + ingest/infer/write workers on Redis) half over DICOM C-STORE (dcmtk storescu, TCP_NODELAY=1) and half
 * over HTTP (POST /ecg, DICOM body), to FHIR transaction Bundles in the test EHR. Prints ECG/s, p50 and p95 latency
 * from receipt at the feed to the Bundle accepted by the EHR, the ratio to the infer stage alone (Predictor on
 * the same model, same batching, same number of ECGs in flight; target ratio >= 0.80), and the CPU time per ECG
 * of the engine process and of the EHR process during the end-to-end phase.
 *
 *   npx turbo run build && npx tsx bench/e2e.ts [--count 400] [--model models/ecgcad-net1d-full] [--threads N]
 *     [--peers child|in-process] [--profile DIR] [--validation fast|full]
 *
 * The test EHR stands for the hospital's EHR and the HTTP sender for the carts: separate systems. By default each
 * runs in a child process of its own (`--peers child`), as storescu always does, so the EHR's R4 validation and
 * storage and the sender's fetch calls do not run on the engine's event loop. `--peers in-process` puts both in
 * the engine's process, as the first version of this bench did. `--profile DIR` writes V8 CPU profiles of
 * the end-to-end phase: the engine's main thread (engine.cpuprofile) and the EHR child (DIR/ehr/, via --cpu-prof).
 *
 * Everything (engine, test EHR, storescu, the HTTP sender) shares this machine, so the ratio is the honest measure.
 * Redis on 127.0.0.1:6379 must be up; the run uses its own key prefix and deletes it afterwards.
 */
import { execFile, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import { createLogger, loadConfig, predictorFromConfig, startQueuedEngine } from '@ecgcad/engine';
import { startTestEhr } from '@ecgcad/fhir-writer';
import { decodeEcg, writeDicomEcg } from '@ecgcad/ingest';
import { Redis } from 'ioredis';
import { dropPrefix } from '../test/pipeline-support.js';

/** What the EHR child and the bench say to each other over the IPC channel. */
type PeerMessage =
  | { type: 'listening'; url: string }
  | { type: 'cpu'; userMs: number; systemMs: number }
  | { type: 'sent'; error?: string };

/** A test EHR the bench can read CPU time from and close, wherever it runs. */
interface BenchEhr {
  url: string;
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const ROLE_ENV = 'ECGCAD_BENCH_E2E_ROLE';

if (process.env[ROLE_ENV] === 'ehr') {
  await runEhrChild();
} else if (process.env[ROLE_ENV] === 'sender') {
  runSenderChild();
} else {
  await runBench();
}

/** The child: a test EHR that reports its URL, answers CPU-time requests and stops on `close`. */
async function runEhrChild(): Promise<void> {
  const ehr = await startTestEhr();
  const send = (message: PeerMessage): void => {
    process.send?.(message);
  };
  process.on('message', (message: unknown) => {
    if (message === 'cpu') {
      const usage = process.cpuUsage();
      send({ type: 'cpu', userMs: usage.user / 1000, systemMs: usage.system / 1000 });
    } else if (message === 'close') {
      ehr.close().then(() => process.exit(0));
    }
  });
  send({ type: 'listening', url: ehr.url });
}

/** POSTs DICOM bodies to `url`/ecg, `inFlight` at a time; throws on any answer but 202. */
async function sendOverHttp(url: string, apiKey: string, bodies: Uint8Array[], inFlight: number): Promise<void> {
  let nextBody = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (nextBody < bodies.length) {
        const body = bodies[nextBody++] as Uint8Array;
        const response = await fetch(`${url}/ecg`, {
          method: 'POST',
          headers: { 'content-type': 'application/dicom', 'x-api-key': apiKey },
          body: Buffer.from(body),
        });
        if (response.status !== 202) throw new Error(`POST /ecg answered ${response.status}`);
        await response.arrayBuffer();
      }
    }),
  );
}

/** The child that stands for the carts on HTTP: on {url, apiKey, paths}, reads the files and POSTs them. */
function runSenderChild(): void {
  process.on('message', (message: { url: string; apiKey: string; paths: string[] }) => {
    Promise.all(message.paths.map((path) => readFile(path)))
      .then((bodies) => sendOverHttp(message.url, message.apiKey, bodies, 8))
      .then(
        () => process.send?.({ type: 'sent' } satisfies PeerMessage),
        (err: unknown) => process.send?.({ type: 'sent', error: String(err) } satisfies PeerMessage),
      )
      .finally(() => process.disconnect());
  });
}

/** Sends the files over HTTP from a child process (`child`) or from this one. */
async function sendHttpFrom(
  where: 'child' | 'in-process',
  url: string,
  apiKey: string,
  paths: string[],
  bodies: Uint8Array[],
): Promise<void> {
  if (where === 'in-process') return sendOverHttp(url, apiKey, bodies, 8);
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [ROLE_ENV]: 'sender' },
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = await new Promise<PeerMessage>((resolvePromise, reject) => {
    child.once('message', (message: PeerMessage) => resolvePromise(message));
    child.once('exit', (code) => reject(new Error(`HTTP sender child exited (${code})`)));
    child.send({ url, apiKey, paths });
  });
  if (reply.type === 'sent' && reply.error) throw new Error(reply.error);
}

async function startChildEhr(profileDir: string | undefined): Promise<BenchEhr> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [ROLE_ENV]: 'ehr' },
    execArgv: [
      ...process.execArgv,
      // One profile per thread (the EHR's main thread is the largest file); the whole life of the child.
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, 'ehr')] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (type: PeerMessage['type']): Promise<PeerMessage> =>
    new Promise((resolvePromise, reject) => {
      const onMessage = (message: PeerMessage): void => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolvePromise(message);
      };
      const onExit = (code: number | null): void => reject(new Error(`test EHR child exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const listening = await next('listening');
  if (listening.type !== 'listening') throw new Error('unexpected message');
  return {
    url: listening.url,
    async cpuMs() {
      const reply = next('cpu');
      child.send('cpu');
      const cpu = await reply;
      return cpu.type === 'cpu' ? cpu.userMs + cpu.systemMs : Number.NaN;
    },
    close: () =>
      new Promise((resolvePromise) => {
        child.once('exit', () => resolvePromise());
        child.send('close');
      }),
  };
}

async function startInProcessEhr(): Promise<BenchEhr> {
  const ehr = await startTestEhr();
  return { url: ehr.url, cpuMs: async () => 0, close: () => ehr.close() };
}

/** CPU time Redis has used so far (INFO cpu), ms: the server shares this machine too. */
async function redisCpuMs(): Promise<number> {
  const redis = new Redis('redis://127.0.0.1:6379');
  try {
    const info = await redis.info('cpu');
    const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  } finally {
    redis.disconnect();
  }
}

function mean(sizes: number[]): string {
  return (sizes.reduce((a, b) => a + b, 0) / sizes.length).toFixed(1);
}

function cpuMsOfThisProcess(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function runBench(): Promise<void> {
  const countArg = arg('--count');
  const COUNT = countArg ? Number(countArg) : 400;
  const MODEL_DIR = arg('--model');
  const threadsArg = arg('--threads');
  const THREADS = threadsArg ? Number(threadsArg) : undefined;
  const PEERS = arg('--peers') ?? 'child';
  if (PEERS !== 'child' && PEERS !== 'in-process') throw new Error('--peers: child or in-process');
  const profileArg = arg('--profile');
  const PROFILE_DIR = profileArg ? resolve(profileArg) : undefined;
  const API_KEY = 'bench-key-0123456789abcdef';
  const run = promisify(execFile);

  function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
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
  const httpPaths: string[] = [];
  for (const [i, body] of httpBodies.entries()) {
    const path = join(dir, `post-${i}.dcm`);
    await writeFile(path, body);
    httpPaths.push(path);
  }

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
      { path: ['model', 'threads'], value: THREADS },
      { path: ['fhir', 'validation'], value: arg('--validation') },
    ],
  });

  // 1. The infer stage alone: decoded ECGs through the Predictor, as many in flight as the infer worker allows,
  // with the engine's session settings (ONNX Runtime threads: --threads, else one per core).
  const decoded = files.map((bytes) => decodeEcg(bytes, { feed: 'bench' }));
  const predictor = await predictorFromConfig(config);
  await Promise.all(decoded.slice(0, 32).map((ecg) => predictor.predict(ecg))); // warm-up
  const inferBatches: number[] = [];
  predictor.batcher.on('batch', (event: { size: number }) => inferBatches.push(event.size));
  let next = 0;
  const inferCpuStart = cpuMsOfThisProcess();
  const inferStart = performance.now();
  await Promise.all(
    Array.from({ length: config.workers.infer }, async () => {
      while (next < decoded.length) await predictor.predict(decoded[next++] as Ecg);
    }),
  );
  const inferSeconds = (performance.now() - inferStart) / 1000;
  const inferCpuMs = cpuMsOfThisProcess() - inferCpuStart;
  await predictor.close();
  const inferRate = COUNT / inferSeconds;

  // 2. End to end through the queued engine.
  if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
  const ehr = PEERS === 'child' ? await startChildEhr(PROFILE_DIR) : await startInProcessEhr();
  const engine = await startQueuedEngine({
    config: { ...config, fhir: { ...config.fhir, url: ehr.url } },
    stages: ['ingest', 'infer', 'write'],
    feeds: true,
    logger: createLogger('error'),
  });
  const e2eBatches: number[] = [];
  engine.predictor?.batcher.on('batch', (event: { size: number }) => e2eBatches.push(event.size));
  let session: Session | undefined;
  if (PROFILE_DIR) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
  }
  const load = loadavg()[0] ?? Number.NaN;
  const ehrCpuStart = await ehr.cpuMs();
  const redisCpuStart = await redisCpuMs();
  const engineCpuStart = cpuMsOfThisProcess();
  const e2eStart = performance.now();
  const sendDicom = run('storescu', ['-aec', 'ECGCAD', '-nh', '127.0.0.1', String(engine.dimse?.port), ...dicomPaths], {
    env: { ...process.env, TCP_NODELAY: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const sendHttp = sendHttpFrom(PEERS, `${engine.http?.url}`, API_KEY, httpPaths, httpBodies);
  const sentDicom = sendDicom.then(() => performance.now() - e2eStart);
  const sentHttp = sendHttp.then(() => performance.now() - e2eStart);
  const [dicomMs, httpMs] = await Promise.all([sentDicom, sentHttp]);
  for (;;) {
    const { completed = 0, failed = 0 } = await engine.queues.write.getJobCounts('completed', 'failed');
    if (completed + failed >= COUNT) break;
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  const e2eSeconds = (performance.now() - e2eStart) / 1000;
  // The engine's figure includes this process's side of the HTTP sends (fetch), but not storescu.
  const engineCpuMs = cpuMsOfThisProcess() - engineCpuStart;
  const ehrCpuMs = (await ehr.cpuMs()) - ehrCpuStart;
  const redisMs = (await redisCpuMs()) - redisCpuStart;
  if (session && PROFILE_DIR) {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(join(PROFILE_DIR, 'engine.cpuprofile'), JSON.stringify(profile));
    session.disconnect();
  }
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
  console.log(
    `machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}, load ${load.toFixed(2)}`,
  );
  console.log(
    `model: ${config.model.dir.split('/').pop()}, ORT threads ${config.model.threads ?? cpu.length}, maxBatch ${config.model.maxBatch}, infer concurrency ${config.workers.infer}, peers ${PEERS}`,
  );
  console.log(`ECGs: ${COUNT} (${half} over C-STORE, ${COUNT - half} over HTTP), failed writes: ${failed}`);
  console.log(
    `infer stage alone:  ${inferRate.toFixed(1)} ECG/s (${(inferCpuMs / COUNT).toFixed(1)} ms CPU/ECG, mean batch ${mean(inferBatches)})`,
  );
  console.log(`end to end:         ${e2eRate.toFixed(1)} ECG/s`);
  // When the senders finish close to the end, the offered load (one storescu association, 8 HTTP posts in flight,
  // each answered only once the ECG is in Redis) limits the rate rather than the stages behind the queues.
  console.log(
    `senders done after: C-STORE ${(dicomMs / 1000).toFixed(2)} s, HTTP ${(httpMs / 1000).toFixed(2)} s (of ${e2eSeconds.toFixed(2)} s)`,
  );
  console.log(`mean batch size end to end: ${mean(e2eBatches)}`);
  console.log(
    `CPU per ECG end to end: engine ${(engineCpuMs / COUNT).toFixed(1)} ms` +
      (PEERS === 'child' ? `, EHR child ${(ehrCpuMs / COUNT).toFixed(1)} ms` : ' (EHR included)') +
      `, Redis ${(redisMs / COUNT).toFixed(1)} ms (storescu not counted)`,
  );
  console.log(
    `receipt -> FHIR write latency: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms`,
  );
  console.log(`ratio end-to-end / infer alone: ${(e2eRate / inferRate).toFixed(2)} (target >= 0.80)`);
  if (PROFILE_DIR) console.log(`CPU profiles: ${PROFILE_DIR}`);
}
