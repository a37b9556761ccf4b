/**
 * End to end: N synthetic 10 s 12-lead ECGs sent into a queued engine (what `ecgcad serve` runs: C-STORE SCP + HTTP
 * feeds + ingest/infer/write workers on Redis) half over DICOM C-STORE (dcmtk storescu, TCP_NODELAY=1) and half
 * over HTTP (POST /ecg, DICOM body), to FHIR transaction Bundles in the test EHR. Prints ECG/s, p50 and p95 latency
 * from receipt at the feed to the Bundle accepted by the EHR, the ratio to the infer stage alone (Predictor on
 * the same model, same batching, same number of ECGs in flight; target ratio >= 0.80), and the CPU time per ECG
 * of the engine process and of the EHR process during the end-to-end phase.
 *
 *   npx turbo run build && npx tsx bench/e2e.ts [--count 400] [--model models/ecgcad-net1d-full]
 *     [--ehr child|in-process] [--profile DIR]
 *
 * The test EHR stands for the hospital's EHR, a separate system: by default it runs in a child process of its own
 * (`--ehr child`), so its R4 validation and storage do not run on the engine's event loop. `--ehr in-process` puts
 * it in the engine's process, as the first version of this bench did. `--profile DIR` writes V8 CPU profiles of
 * the end-to-end phase only: the engine's main thread (engine.cpuprofile) and the EHR child (via --cpu-prof).
 *
 * Everything (engine, test EHR, storescu, the HTTP sender) shares this machine, so the ratio is the honest measure.
 * Redis on 127.0.0.1:6379 must be up; the run uses its own key prefix and deletes it afterwards.
 */
import { execFile, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/** What the EHR child and the bench say to each other over the IPC channel. */
type EhrMessage = { type: 'listening'; url: string } | { type: 'cpu'; userMs: number; systemMs: number };

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
} else {
  await runBench();
}

/** The child: a test EHR that reports its URL, answers CPU-time requests and stops on `close`. */
async function runEhrChild(): Promise<void> {
  const ehr = await startTestEhr();
  const send = (message: EhrMessage): void => {
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

async function startChildEhr(profileDir: string | undefined): Promise<BenchEhr> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [ROLE_ENV]: 'ehr' },
    execArgv: [
      ...process.execArgv,
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', 'ehr.cpuprofile'] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (type: EhrMessage['type']): Promise<EhrMessage> =>
    new Promise((resolvePromise, reject) => {
      const onMessage = (message: EhrMessage): void => {
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

function cpuMsOfThisProcess(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function runBench(): Promise<void> {
  const countArg = arg('--count');
  const COUNT = countArg ? Number(countArg) : 400;
  const MODEL_DIR = arg('--model');
  const EHR_MODE = arg('--ehr') ?? 'child';
  if (EHR_MODE !== 'child' && EHR_MODE !== 'in-process') throw new Error('--ehr: child or in-process');
  const profileArg = arg('--profile');
  const PROFILE_DIR = profileArg ? resolve(profileArg) : undefined;
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
  const ehr = EHR_MODE === 'child' ? await startChildEhr(PROFILE_DIR) : await startInProcessEhr();
  const engine = await startQueuedEngine({
    config: { ...config, fhir: { ...config.fhir, url: ehr.url } },
    stages: ['ingest', 'infer', 'write'],
    feeds: true,
    logger: createLogger('error'),
  });
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
  const engineCpuStart = cpuMsOfThisProcess();
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
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  const e2eSeconds = (performance.now() - e2eStart) / 1000;
  // The engine's figure includes this process's side of the HTTP sends (fetch), but not storescu.
  const engineCpuMs = cpuMsOfThisProcess() - engineCpuStart;
  const ehrCpuMs = (await ehr.cpuMs()) - ehrCpuStart;
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
    `model: ${config.model.dir.split('/').pop()}, maxBatch ${config.model.maxBatch}, infer concurrency ${config.workers.infer}, EHR ${EHR_MODE}`,
  );
  console.log(`ECGs: ${COUNT} (${half} over C-STORE, ${COUNT - half} over HTTP), failed writes: ${failed}`);
  console.log(`infer stage alone:  ${inferRate.toFixed(1)} ECG/s (${(inferCpuMs / COUNT).toFixed(1)} ms CPU/ECG)`);
  console.log(`end to end:         ${e2eRate.toFixed(1)} ECG/s`);
  console.log(
    `CPU per ECG end to end: engine ${(engineCpuMs / COUNT).toFixed(1)} ms` +
      (EHR_MODE === 'child' ? `, EHR child ${(ehrCpuMs / COUNT).toFixed(1)} ms` : ' (EHR included)'),
  );
  console.log(
    `receipt -> FHIR write latency: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms`,
  );
  console.log(`ratio end-to-end / infer alone: ${(e2eRate / inferRate).toFixed(2)} (target >= 0.80)`);
  if (PROFILE_DIR) console.log(`CPU profiles: ${PROFILE_DIR}`);
}
