/**
 * The floor under issue #16's target 1 (engine CPU per ECG outside inference <= 4 ms): what the pipeline's shape
 * costs before any of ecgcad's own work, measured with the same libraries doing nothing else. Each part runs alone in
 * this process, N ECGs after a warm-up, and its CPU (process.cpuUsage: every thread of this process, so V8's
 * garbage collection and compilers are in) is divided by N. The peers that are not the engine (the HTTP sender, the
 * EHR standing in as a bare receiver, Redis) run in their own processes and are left out, as bench/e2e leaves them
 * out.
 *
 *   intake over HTTP   fastify takes a 121 KB DICOM body (POST /ecg, 8 in flight, keep-alive) and answers 202;
 *   payload            one ECG's claim check in Redis: SET of the 121 KB with a TTL, GET, DEL (ioredis);
 *   queue hop          one BullMQ job through a queue: Queue.add of a job like ecg.infer's, a Worker (concurrency 32)
 *                      that does nothing, completed jobs kept as the engine keeps them; the engine makes two hops
 *                      per ECG (ecg.infer, ecg.write);
 *   DICOM decode       ecgcad's decoder (the infer stage decodes every ECG once; bench/decode has its own target);
 *   Bundle out         a prebuilt transaction Bundle with its 12-lead waveform serialised (serializeBundle, the
 *                      cheapest way ecgcad has) and POSTed over keep-alive HTTP, the answer read and parsed.
 *
 * Prints each part's CPU per ECG, how many times the engine does it per ECG and their sum, then the same parts
 * composed into a skeleton engine run at full blast (see measureSkeleton), each against the target. Building,
 * validating, auditing, monitoring and metrics are not in the floor: compare with bench/e2e's figure for the engine.
 * Beside the BullMQ hop, for comparison and not in the floor: the same hop through a Redis stream with only the
 * commands per job a queue of ecgcad's own would need (streamHop), i.e. the most that replacing BullMQ could save.
 *
 *   npx turbo run build && npx tsx bench/floor.ts [--count 1000] [--warmup 3000]
 *
 * Keep the defaults for figures: with a few hundred warm-up ECGs per part the JIT is still compiling, and every part
 * read up to 2.5x as high (300: the BullMQ hop 0.29 ms, the HTTP intake 0.23; 3,000: 0.10 and 0.10).
 *
 * Redis on 127.0.0.1:6379 must be up; the run uses its own key prefix and deletes it afterwards.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  assessQuality,
  DEFAULT_INPUT_SPEC,
  type Ecg,
  type InferJobData,
  inputStats,
  prepare,
  preparedLength,
  QUEUE_NAMES,
  synthesizeEcg,
} from '@ecgcad/ecg';
import { buildBundle, bundleIssues, examplePrediction, loadR4Definitions, serializeBundle } from '@ecgcad/fhir-writer';
import { applyEngineHeapSettings, decodeEcg, writeDicomEcg } from '@ecgcad/ingest';
import { stageJobOptions } from '@ecgcad/queue';
import { Queue, Worker } from 'bullmq';
import fastify from 'fastify';
import { Redis } from 'ioredis';
import { dropPrefix, REDIS_URL } from '../test/pipeline-support.js';
import { cpuMs } from './support.js';

const ROLE_ENV = 'ECGCAD_BENCH_FLOOR_ROLE';
/** Requests in flight, as bench/e2e's HTTP sender and the engine's write concurrency have them. */
const IN_FLIGHT = 8;

/** Per job on the stream hop: refuse a seen id (kept as long as the engine keeps completed jobs) and append. */
const STREAM_ADD = `if redis.call('SET', KEYS[1], 'waiting', 'NX', 'EX', ARGV[3]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'id', ARGV[1], 'data', ARGV[2])
end
return false`;
/** Per job on the stream hop: record its result under its id, then acknowledge its entry. */
const STREAM_DONE = `redis.call('SET', KEYS[1], ARGV[2], 'XX', 'KEEPTTL')
return redis.call('XACK', KEYS[2], 'workers', ARGV[1])`;

if (process.env[ROLE_ENV] === 'sender') runSender();
else if (process.env[ROLE_ENV] === 'receiver') runReceiver();
else await runBench();

/** POSTs `body` to `url` on a keep-alive agent; resolves with the answer's text once read. */
function post(
  agent: Agent,
  url: URL,
  body: Uint8Array,
  contentType: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolvePost, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': body.byteLength } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolvePost({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `task(i)` for i in [0, count) with `lanes` in flight. */
async function inLanes(count: number, lanes: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** The child that stands for the carts: on {url, count}, POSTs the bodies it was given and says when done. */
function runSender(): void {
  const agent = new Agent({ keepAlive: true });
  let bodies: Uint8Array[] = [];
  process.on('message', (message: { bodies?: Uint8Array[]; url?: string; count?: number } | 'exit') => {
    if (message === 'exit') {
      process.disconnect();
      return;
    }
    if (message.bodies) {
      bodies = message.bodies;
      process.send?.('ready');
      return;
    }
    const url = new URL(message.url as string);
    inLanes(message.count as number, IN_FLIGHT, async (i) => {
      const { status } = await post(agent, url, bodies[i % bodies.length] as Uint8Array, 'application/dicom');
      if (status !== 202) throw new Error(`answered ${status}`);
    }).then(
      () => process.send?.('sent'),
      (err: unknown) => process.send?.(`error: ${String(err)}`),
    );
  });
  process.send?.('ready');
}

/** The child that stands for the EHR: reads each body whole and answers with a small transaction-response. */
function runReceiver(): void {
  const answer = JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: Array.from({ length: 9 }, (_, i) => ({
      response: { status: '201 Created', location: `Observation/${randomUUID()}/_history/1`, etag: `W/"${i}"` },
    })),
  });
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(bytes > 0 ? 200 : 400, { 'content-type': 'application/fhir+json' });
      res.end(answer);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on('message', (message) => {
    if (message === 'exit') server.close(() => process.exit(0));
  });
}

/** A forked child of this file in `role`, with its first message. */
async function child(role: string): Promise<{ child: ReturnType<typeof fork>; first: unknown }> {
  const forked = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [ROLE_ENV]: role },
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const first = await new Promise((resolveFirst) => forked.once('message', resolveFirst));
  return { child: forked, first };
}

/** Sends `message` to `to` and waits for its next message. */
function ask(to: ReturnType<typeof fork>, message: unknown): Promise<unknown> {
  return new Promise((resolveAnswer) => {
    to.once('message', resolveAnswer);
    to.send(message as object);
  });
}

/** What stands for the write stage's delivery: one prebuilt Bundle, POSTed to the receiver child. */
interface BundleOut {
  /** Bytes of the serialised Bundle. */
  size: number;
  /** Serialises the Bundle, POSTs it and checks the answer (a transaction-response). */
  send(): Promise<void>;
  close(): void;
}

/** Builds the Bundle of the ECG in `dicom` (with its waveform) and starts the receiver child it goes to. */
async function startBundleOut(dicom: Uint8Array): Promise<BundleOut> {
  const { child: receiver, first } = await child('receiver');
  const url = new URL(`http://127.0.0.1:${(first as { port: number }).port}/`);
  const agent = new Agent({ keepAlive: true });
  const ecg = decodeEcg(dicom, { feed: 'bench' });
  const bundle = buildBundle(examplePrediction({ ecgId: ecg.id }), {}, undefined, ecg);
  return {
    size: serializeBundle(bundle).byteLength,
    async send() {
      const { status, text } = await post(agent, url, serializeBundle(bundle), 'application/fhir+json');
      if (status !== 200 || (JSON.parse(text) as { type?: string }).type !== 'transaction-response') {
        throw new Error(`receiver answered ${status}`);
      }
    },
    close() {
      agent.destroy();
      receiver.send('exit');
    },
  };
}

/** This process's CPU per ECG over `count` ECGs of `part` (after `warmup` untimed ones), ms. */
async function measure(
  warmup: number,
  count: number,
  part: (count: number, offset: number) => Promise<unknown>,
): Promise<number> {
  await part(warmup, 0);
  const before = cpuMs();
  await part(count, warmup);
  return (cpuMs() - before) / count;
}

async function runBench(): Promise<void> {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '3000' } },
  });
  const count = Number(values.count);
  const warmup = Number(values.warmup);
  applyEngineHeapSettings(); // as the `ecgcad` command runs
  const ecgs: Ecg[] = Array.from({ length: 20 }, (_, i) => synthesizeEcg({ seed: 4200 + i, fast: true }));
  const bodies = ecgs.map((ecg) => writeDicomEcg(ecg));
  const bodyAt = (i: number): Uint8Array => bodies[i % bodies.length] as Uint8Array;
  const rows: { part: string; ms: number; perEcg: number; note: string }[] = [];
  /** CPU per job of the BullMQ hop and of the stream hop beside it (streamHop), ms. */
  let hops: { bullmq: number; stream: number } | undefined;

  // Intake over HTTP: fastify in this process, the sender in a child.
  {
    const app = fastify({ bodyLimit: 64 * 1024 * 1024 });
    app.addContentTypeParser('application/dicom', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    app.post('/ecg', async (_request, reply) => reply.code(202).send({ ecgId: randomUUID() }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const { child: sender } = await child('sender');
    await ask(sender, { bodies: bodies.slice(0, 4) });
    const ms = await measure(warmup, count, async (n) => {
      const done = await ask(sender, { url: `${url}/ecg`, count: n });
      if (done !== 'sent') throw new Error(String(done));
    });
    sender.send('exit');
    await app.close();
    rows.push({ part: 'intake over HTTP (fastify, 121 KB body, 202)', ms, perEcg: 1, note: 'half the ECGs in e2e' });
  }

  const prefix = `{ecgcad-bench-floor-${randomUUID().slice(0, 8)}}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  try {
    // Payload: SET with a TTL, GET, DEL.
    {
      const ms = await measure(warmup, count, (n, offset) =>
        inLanes(n, IN_FLIGHT, async (i) => {
          const key = `${prefix}:payload:${offset + i}`;
          await redis.set(key, Buffer.from(bodyAt(i)), 'EX', 3600);
          const back = await redis.getBuffer(key);
          if (back?.length !== bodyAt(i).length) throw new Error('payload read back short');
          await redis.del(key);
        }),
      );
      rows.push({ part: 'payload in Redis (SET 121 KB, GET, DEL)', ms, perEcg: 1, note: 'the claim check' });
    }

    // One queue hop: add + a worker that does nothing.
    {
      const queue = new Queue(QUEUE_NAMES.infer, { connection: redis, prefix });
      const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      let completed = 0;
      let onCompleted: (() => void) | undefined;
      const worker = new Worker(QUEUE_NAMES.infer, async () => ({ status: 'scored', writeJobId: randomUUID() }), {
        connection: workerConnection,
        prefix,
        concurrency: 32,
      });
      worker.on('completed', () => {
        completed++;
        onCompleted?.();
      });
      const options = stageJobOptions();
      const ms = await measure(warmup, count, async (n, offset) => {
        const target = completed + n;
        const all = new Promise<void>((resolveAll) => {
          onCompleted = () => {
            if (completed >= target) resolveAll();
          };
        });
        await inLanes(n, IN_FLIGHT, (i) =>
          queue.add('infer', hopJobData(offset + i), { ...options, jobId: `ecg-${offset + i}` }),
        );
        await all;
      });
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
      rows.push({
        part: 'queue hop (BullMQ add, no-op worker, complete)',
        ms,
        perEcg: 2,
        note: 'ecg.infer, ecg.write',
      });
      // The same hop on a Redis stream, for comparison (not in the floor; see streamHop).
      hops = { bullmq: ms, stream: await streamHop(prefix, warmup, count) };
    }
  } finally {
    await dropPrefix(prefix);
    redis.disconnect();
  }

  // DICOM decode (ecgcad's own decoder).
  {
    const ms = await measure(warmup, count, async (n) => {
      for (let i = 0; i < n; i++) decodeEcg(bodyAt(i), { feed: 'bench' });
    });
    rows.push({ part: 'DICOM decode (ecgcad)', ms, perEcg: 1, note: 'in the infer stage' });
  }

  // Bundle out: serialise a prebuilt Bundle with its waveform and POST it.
  {
    const out = await startBundleOut(bodyAt(0));
    const ms = await measure(warmup, count, (n) => inLanes(n, IN_FLIGHT, () => out.send()));
    out.close();
    rows.push({
      part: `Bundle out (serialise ${Math.round(out.size / 1024)} KB with waveform, POST, parse answer)`,
      ms,
      perEcg: 1,
      note: 'one transaction per ECG',
    });
  }

  // The same parts composed: a skeleton engine with the pipeline's shape and none of ecgcad's own work.
  const composed = await measureSkeleton(warmup, count, bodies);

  // Beside the floor, for scale: the largest pure parts of ecgcad's own work per ECG, each alone.
  const own: { part: string; ms: number }[] = [];
  {
    const decoded = bodies.map((bytes) => decodeEcg(bytes, { feed: 'bench' }));
    const at = (i: number): Ecg => decoded[i % decoded.length] as Ecg;
    const input = new Float32Array(preparedLength(DEFAULT_INPUT_SPEC));
    own.push({
      part: 'quality gate + model input (assessQuality, prepare)',
      ms: await measure(warmup, count, async (n) => {
        for (let i = 0; i < n; i++) {
          assessQuality(at(i), DEFAULT_INPUT_SPEC);
          prepare(at(i), DEFAULT_INPUT_SPEC, input);
        }
      }),
    });
    own.push({
      part: 'drift input statistics (inputStats)',
      ms: await measure(warmup, count, async (n) => {
        for (let i = 0; i < n; i++) inputStats(at(i));
      }),
    });
    loadR4Definitions();
    own.push({
      part: 'Bundle build with the waveform + fast R4 validation',
      ms: await measure(warmup, count, async (n) => {
        for (let i = 0; i < n; i++) {
          const ecg = at(i);
          const issues = bundleIssues(buildBundle(examplePrediction({ ecgId: ecg.id }), {}, undefined, ecg));
          if (issues.length > 0) throw new Error(`the Bundle failed validation: ${issues[0]}`);
        }
      }),
    });
  }

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`machine: ${cpu} x ${cpus().length}, node ${process.version}, load ${loadavg()[0]?.toFixed(2)}`);
  console.log(`${count} ECGs per part after ${warmup} warm-up; CPU of this process (all threads) per ECG:`);
  let floor = 0;
  for (const row of rows) {
    const total = row.ms * row.perEcg;
    floor += total;
    console.log(
      `  ${row.part.padEnd(76)} ${row.ms.toFixed(2).padStart(6)} ms x ${row.perEcg} = ${total.toFixed(2).padStart(5)} ms  (${row.note})`,
    );
  }
  console.log(
    `floor of the pipeline's shape: ${floor.toFixed(2)} ms per ECG, before building, validating, auditing, monitoring`,
  );
  if (hops) {
    const { bullmq, stream } = hops;
    console.log(
      `  for comparison, ${'queue hop on a Redis stream (see the header; not a queue)'.padEnd(59)} ${stream.toFixed(2).padStart(6)} ms x 2 = ${(2 * stream).toFixed(2).padStart(5)} ms  (${(stream / bullmq).toFixed(2)}x BullMQ's hop; at most ${(2 * (bullmq - stream)).toFixed(2)} ms per ECG to gain)`,
    );
  }
  console.log(
    `the same composed (skeleton engine: HTTP in, payload SET, hop, GET + decode, hop, Bundle out, DEL; all at once): ${composed.toFixed(2)} ms per ECG`,
  );
  let ownSum = 0;
  console.log("for scale, ecgcad's own work per ECG, each part alone (not in the floor):");
  for (const row of own) {
    ownSum += row.ms;
    console.log(`  ${row.part.padEnd(76)} ${row.ms.toFixed(2).padStart(6)} ms`);
  }
  console.log(`  sum ${ownSum.toFixed(2)} ms; the engine also has its C-STORE feed, checks, audit trail, metrics`);
  console.log(
    `issue #16 target 1 (engine CPU per ECG outside inference <= 4 ms): the floor alone is ${(Math.max(floor, composed) / 4).toFixed(2)} x the target`,
  );
}

/**
 * A skeleton engine in this process: POST /ecg stores the body in Redis and adds a job (answering 202 after both);
 * a worker (concurrency 32) reads the payload, decodes it and adds a write job; a worker (concurrency 8) POSTs the
 * prebuilt Bundle to the receiver child and deletes the payload. No quality gate, model, Bundle build, validation,
 * audit, monitoring or metrics. Returns this process's CPU per ECG, ms.
 */
async function measureSkeleton(warmup: number, count: number, bodies: Uint8Array[]): Promise<number> {
  const prefix = `{ecgcad-bench-floor-${randomUUID().slice(0, 8)}}`;
  const producer = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const inferConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const writeConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const out = await startBundleOut(bodies[0] as Uint8Array);
  const options = stageJobOptions();
  const inferQueue = new Queue(QUEUE_NAMES.infer, { connection: producer, prefix });
  const writeProducer = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const writeQueue = new Queue(QUEUE_NAMES.write, { connection: writeProducer, prefix });
  let written = 0;
  let onWritten: (() => void) | undefined;
  const inferWorker = new Worker(
    QUEUE_NAMES.infer,
    async (job) => {
      const { payloadKey, ecgId } = job.data as { payloadKey: string; ecgId: string };
      const bytes = await producer.getBuffer(payloadKey);
      if (!bytes) throw new Error('payload gone');
      const decoded = decodeEcg(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { feed: 'bench' });
      await writeQueue.add(
        'write',
        { prediction: examplePrediction({ ecgId: decoded.id }), payloadKey },
        { ...options, jobId: `${ecgId}-w` },
      );
      return { status: 'scored' };
    },
    { connection: inferConnection, prefix, concurrency: 32 },
  );
  const writeWorker = new Worker(
    QUEUE_NAMES.write,
    async (job) => {
      await out.send();
      await producer.del((job.data as { payloadKey: string }).payloadKey);
      return { sink: 'fhir', created: 9 };
    },
    { connection: writeConnection, prefix, concurrency: 8 },
  );
  writeWorker.on('completed', () => {
    written++;
    onWritten?.();
  });
  // A failed job would leave the count short for ever: end the run with its reason instead.
  let failure: Error | undefined;
  for (const worker of [inferWorker, writeWorker]) {
    worker.on('failed', (_job, err) => {
      failure ??= err;
      onWritten?.();
    });
  }
  let received = 0;
  const app = fastify({ bodyLimit: 64 * 1024 * 1024 });
  app.addContentTypeParser('application/dicom', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.post('/ecg', async (request, reply) => {
    const n = received++;
    const payloadKey = `${prefix}:payload:${n}`;
    await producer.set(payloadKey, request.body as Buffer, 'EX', 3600);
    const ecgId = `1.2.826.0.1.3680043.8.498.${n}`;
    await inferQueue.add(
      'infer',
      { ecgId, sha256: 'ab'.repeat(32), payloadKey, receivedAt: new Date().toISOString(), feed: 'http' },
      { ...options, jobId: ecgId },
    );
    return reply.code(202).send({ ecgId });
  });
  const appUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const { child: sender } = await child('sender');
  await ask(sender, { bodies: bodies.slice(0, 4) });
  try {
    return await measure(warmup, count, async (n) => {
      const target = written + n;
      const all = new Promise<void>((resolveAll) => {
        onWritten = () => {
          if (written >= target || failure) resolveAll();
        };
      });
      const sent = await ask(sender, { url: `${appUrl}/ecg`, count: n });
      if (sent !== 'sent') throw new Error(String(sent));
      await all;
      if (failure) throw failure;
    });
  } finally {
    sender.send('exit');
    await app.close();
    await inferWorker.close();
    await writeWorker.close();
    await inferQueue.close();
    await writeQueue.close();
    out.close();
    await dropPrefix(prefix);
    for (const connection of [producer, writeProducer, inferConnection, writeConnection]) connection.disconnect();
  }
}

/** The data of the n-th job of both queue hops (BullMQ's and streamHop's). */
function hopJobData(n: number): InferJobData {
  return {
    ecgId: `1.2.826.0.1.3680043.8.498.${n}`,
    sha256: 'ab'.repeat(32),
    payloadKey: `ecg:source\n${'cd'.repeat(32)}`,
    receivedAt: new Date().toISOString(),
    feed: 'cstore',
  };
}

/**
 * One hop through a Redis stream with the commands per job that a queue of ecgcad's own would need for what the
 * engine takes from BullMQ on every job: the add refuses a job id already seen (SET NX of the id, kept as long as
 * completed jobs are, and XADD, in one script); a consumer group reads up to 32 entries per call (XREADGROUP on a
 * blocking connection of its own, as a BullMQ worker has); each job's completion records its result under its id and
 * acknowledges its entry (one script). The job data are the BullMQ hop's (hopJobData), the result the same JSON; both
 * parsed and made as a worker would. Not a queue: no retries, backoff, stalled-job recovery (XAUTOCLAIM on a timer),
 * dead-letter set, job states for the status endpoint or queue counts for backpressure, which a real one adds per
 * failure, per interval or per look-up rather than per job. So the gap between this and the BullMQ hop is the most that replacing
 * BullMQ's two hops per ECG could save (issue #16's "larger change"). Returns this process's CPU per job, ms.
 */
async function streamHop(prefix: string, warmup: number, count: number): Promise<number> {
  const producer = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const reader = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const completer = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  // Sent as EVALSHA, as BullMQ sends its scripts (ioredis loads a script Redis does not know yet).
  producer.defineCommand('streamAdd', { numberOfKeys: 2, lua: STREAM_ADD });
  completer.defineCommand('streamDone', { numberOfKeys: 2, lua: STREAM_DONE });
  const scripts = { producer, completer } as unknown as {
    producer: { streamAdd(...args: string[]): Promise<string | null> };
    completer: { streamDone(...args: string[]): Promise<number> };
  };
  const stream = `${prefix}:stream:${QUEUE_NAMES.infer}`;
  await producer.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM');
  const retentionS = String(24 * 3600);
  let completed = 0;
  let onCompleted: (() => void) | undefined;
  let stopped = false;
  // A failed completion would leave the count short for ever: end the run with its reason instead.
  let failure: Error | undefined;
  const consuming = (async () => {
    while (!stopped) {
      const read = (await reader.xreadgroup(
        'GROUP',
        'workers',
        'floor',
        'COUNT',
        32,
        'BLOCK',
        200,
        'STREAMS',
        stream,
        '>',
      )) as [string, [string, string[]][]][] | null;
      for (const [, entries] of read ?? []) {
        for (const [entryId, fields] of entries) {
          const data = JSON.parse(fields[3] as string) as { ecgId: string };
          const result = JSON.stringify({ status: 'scored', writeJobId: `${data.ecgId}~w` });
          scripts.completer.streamDone(`${prefix}:job:${fields[1]}`, stream, entryId, result).then(
            () => {
              completed++;
              onCompleted?.();
            },
            (err: Error) => {
              failure ??= err;
              onCompleted?.();
            },
          );
        }
      }
    }
  })().catch((err: Error) => {
    failure ??= err;
    onCompleted?.();
  });
  try {
    return await measure(warmup, count, async (n, offset) => {
      const target = completed + n;
      const all = new Promise<void>((resolveAll) => {
        onCompleted = () => {
          if (completed >= target || failure) resolveAll();
        };
      });
      await inLanes(n, IN_FLIGHT, async (i) => {
        const jobId = `ecg-${offset + i}`;
        const data = JSON.stringify(hopJobData(offset + i));
        const added = await scripts.producer.streamAdd(`${prefix}:job:${jobId}`, stream, jobId, data, retentionS);
        if (added === null) throw new Error(`job ${jobId} refused as seen`);
      });
      await all;
      if (failure) throw failure;
    });
  } finally {
    stopped = true;
    await consuming;
    for (const connection of [producer, reader, completer]) connection.disconnect();
  }
}
