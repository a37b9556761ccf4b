/**
 * FHIR writer benchmark: Bundles built, built + validated (one core, this process; the fast validation path and the
 * full @medplum/core one, interleaved in the same run), and posted to the test EHR (running in its own process, so
 * client and server do not share an event loop), as new results and as resends; then the same with the waveform in
 * the ECG Observation (12 leads, 10 s at 500 Hz, a DICOM-like 2.5 uV step).
 * Last, the write stage's own CPU per ECG with the waveform (claim-check payload decode, Bundle build, validation,
 * JSON body and its UTF-8 bytes, as the worker and fetch do them; no network), the same without the waveform (their
 * difference: the waveform's own cost in the write stage) and the payload codec's cost and bytes,
 * version 1 (Float32 leads) against version 2 (integer leads with their quantum).
 * Run after `npm run build`: `npx tsx bench/write.ts [--seconds 3] [--stage] [--before DIR]` (--seconds: per
 * build/validate phase; --stage: only the write-stage and payload figures; --before: a built worktree of an older
 * commit whose packages run the same write-stage loop, interleaved with this one's, for a same-run A/B).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Ecg, STANDARD_LEADS, synthesizeEcg } from '@ecgcad/ecg';
import {
  buildBundle,
  bundleIssues,
  examplePrediction,
  FhirClient,
  loadR4Definitions,
  SYSTEMS,
  type ValidationMode,
} from '@ecgcad/fhir-writer';
import type { Bundle } from '@medplum/fhirtypes';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    stage: { type: 'boolean', default: false },
    before: { type: 'string' },
  },
});
const seconds = Number(values.seconds);

/** Runs fn repeatedly for about `seconds`, returns calls per second. */
async function rate(fn: (i: number) => unknown | Promise<unknown>, concurrency = 1): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn(next++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const prediction = (i: number) =>
  examplePrediction({
    ecgId: `1.2.826.0.1.3680043.8.498.${i + 1}`,
    probabilities: [0.05, 0.2, i % 2 ? 0.6 : 0.3, 0.1],
  });

/** One 12-lead 10 s 500 Hz ECG on a 2.5 uV grid (as a DICOM cart stores it), under each prediction's id. */
const ecg = synthesizeEcg({ seed: 1 });
for (const lead of STANDARD_LEADS) {
  ecg.leads[lead] = (ecg.leads[lead] as Float32Array).map((v) => Math.round(v / 2.5) * 2.5 + 0);
}
const withWaveform = (i: number): Bundle => {
  const p = prediction(i);
  return buildBundle(p, {}, undefined, { ...ecg, id: p.ecg.id });
};
const withoutWaveform = (i: number): Bundle => buildBundle(prediction(i));

if (!values.stage) await fullBench();
await stageBench();

async function fullBench(): Promise<void> {
  const t0 = performance.now();
  loadR4Definitions();
  const loadMs = performance.now() - t0;

  // Warm up the JIT.
  for (let i = 0; i < 200; i++) {
    bundleIssues(buildBundle(prediction(i)));
    bundleIssues(buildBundle(prediction(i)), { mode: 'full' });
  }

  const built = await rate((i) => buildBundle(prediction(i)));
  const validatedIn = (mode: ValidationMode) =>
    rate((i) => {
      const issues = bundleIssues(buildBundle(prediction(i)), { mode });
      if (issues.length > 0) throw new Error(issues.join('\n'));
    });
  // Interleaved (full, fast, full, fast) so a loaded machine weighs on both alike; the better of each pair is kept.
  const rates: Record<ValidationMode, number[]> = { full: [], fast: [] };
  for (const mode of ['full', 'fast', 'full', 'fast'] as const) rates[mode].push(await validatedIn(mode));
  const validatedFull = Math.max(...rates.full);
  const validated = Math.max(...rates.fast);
  /** Milliseconds of validation per Bundle: (build + validate) minus build. */
  const validationMs = (r: number) => 1000 / r - 1000 / built;

  const cli = fileURLToPath(new URL('../packages/fhir-writer/dist/test-ehr/cli.js', import.meta.url));

  /** Starts a fresh test EHR in its own process. */
  async function startEhr(): Promise<{ url: string; stop: () => void }> {
    const child = spawn(process.execPath, [cli, '--port', '0', '--patient', `${SYSTEMS.patientId}|MRN-000123`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { url: string }).url));
      child.once('exit', (code) => reject(new Error(`test EHR exited with ${code}`)));
    });
    return { url, stop: () => child.kill('SIGTERM') };
  }

  /**
   * Posts `count` Bundles (new results, or resends of the first 50) at a concurrency, on a fresh EHR: its in-memory
   * search is linear in the stored resources, so a fixed count keeps phases comparable.
   */
  async function posted(
    count: number,
    concurrency: number,
    resend: boolean,
    build: (i: number) => Bundle = withoutWaveform,
  ): Promise<number> {
    const ehr = await startEhr();
    try {
      const client = new FhirClient({ baseUrl: ehr.url });
      for (let i = 0; i < 50; i++) await client.postTransaction(build(i));
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < count; i = next++) {
            await client.postTransaction(build(resend ? i % 50 : 50 + i));
          }
        }),
      );
      return count / ((performance.now() - started) / 1000);
    } finally {
      ehr.stop();
    }
  }

  const POSTS = 300;
  const posted1 = await posted(POSTS, 1, false);
  const posted8 = await posted(POSTS, 8, false);
  const resent = await posted(POSTS, 8, true);

  // The waveform: Bundle size, build + validate, and posting.
  const sizeOff = JSON.stringify(withoutWaveform(0)).length;
  const sizeOn = JSON.stringify(withWaveform(0)).length;
  const builtOn = await rate(withWaveform);
  const validatedOn = await rate((i) => {
    const issues = bundleIssues(withWaveform(i));
    if (issues.length > 0) throw new Error(issues.join('\n'));
  });
  const postedOn8 = await posted(POSTS / 3, 8, false, withWaveform);

  const cpu = cpus();
  const f = (x: number) => x.toFixed(0);
  console.log(`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
  console.log(`R4 definitions load: ${f(loadMs)} ms (once per process)`);
  console.log(`built:                 ${f(built)} Bundles/s (one core)`);
  console.log(
    `built + validated:     ${f(validated)} Bundles/s (one core, fast validation); validation costs ${(built / validated).toFixed(1)}x the build`,
  );
  console.log(
    `built + full-validated: ${f(validatedFull)} Bundles/s (one core, @medplum/core validateResource on every resource)`,
  );
  console.log(
    `validation per Bundle: fast ${validationMs(validated).toFixed(3)} ms, full ${validationMs(validatedFull).toFixed(3)} ms (${(validationMs(validatedFull) / validationMs(validated)).toFixed(1)}x, same run)`,
  );
  console.log(
    `posted, new, conc 1:   ${f(posted1)} Bundles/s (${POSTS} Bundles; test EHR in its own process: ${(posted1 / validated).toFixed(2)}x build+validate)`,
  );
  console.log(`posted, new, conc 8:   ${f(posted8)} Bundles/s (${(posted8 / posted1).toFixed(2)}x concurrency 1)`);
  console.log(`posted, resend, conc 8: ${f(resent)} Bundles/s (${(resent / posted8).toFixed(2)}x new)`);
  console.log(
    '(the test EHR validates every entry and serialises writes, so posting measures it as much as the client)',
  );
  console.log(
    `waveform: Bundle ${(sizeOn / 1024).toFixed(0)} KB (12 leads x 5000 samples) vs ${(sizeOff / 1024).toFixed(1)} KB without`,
  );
  console.log(`waveform, built:       ${f(builtOn)} Bundles/s (${(built / builtOn).toFixed(1)}x slower than without)`);
  console.log(
    `waveform, built + validated: ${f(validatedOn)} Bundles/s (${(validated / validatedOn).toFixed(1)}x slower than without)`,
  );
  console.log(
    `waveform, posted, new, conc 8: ${f(postedOn8)} Bundles/s (${POSTS / 3} Bundles; ${(posted8 / postedOn8).toFixed(1)}x slower than without)`,
  );
}

/** What the write-stage loop needs of a tree's packages (an older tree may lack the newer exports). */
interface StagePackages {
  encodeEcgPayload: (ecg: Ecg, options?: { version?: 1 | 2 }) => Uint8Array;
  decodeEcgPayload: (bytes: Uint8Array) => Ecg;
  decodeEcgPayloadDetailed?: (
    bytes: Uint8Array,
    options?: { integersOnly?: boolean },
  ) => { ecg: Ecg; quantised: object };
  buildBundle: typeof buildBundle;
  serializeBundle?: (bundle: Bundle) => Buffer;
  validateBundle: (bundle: Bundle) => void;
  loadR4Definitions: () => void;
}

async function stagePackages(root: string): Promise<StagePackages> {
  const ecg = await import(pathToFileURL(resolve(root, 'packages/ecg/dist/index.js')).href);
  const writer = await import(pathToFileURL(resolve(root, 'packages/fhir-writer/dist/index.js')).href);
  writer.loadR4Definitions();
  return { ...ecg, ...writer } as StagePackages;
}

/** CPU ms (user + system, this process) per call of fn over `count` calls. */
function cpuMsPer(count: number, fn: (i: number) => unknown): number {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / count;
}

/**
 * The write stage on one ECG, as the worker runs it minus the network: decode the payload (the detailed decode,
 * leads as their integers only, where the tree has it), build the Bundle with the waveform, validate it and make the
 * body's bytes ({@link validatedBodyBytes}).
 */
function stageLoop(pkgs: StagePackages, payload: Uint8Array): (i: number) => number {
  return (i) => {
    const p = prediction(i);
    let waveform: Ecg & { quantised?: object };
    if (pkgs.decodeEcgPayloadDetailed) {
      const decoded = pkgs.decodeEcgPayloadDetailed(payload, { integersOnly: true });
      waveform = { ...decoded.ecg, quantised: decoded.quantised };
    } else {
      waveform = pkgs.decodeEcgPayload(payload);
    }
    return validatedBodyBytes(pkgs, pkgs.buildBundle(p, {}, undefined, { ...waveform, id: p.ecg.id }));
  };
}

/** {@link stageLoop} with the waveform off: no payload read, the Bundle without leads (`fhir.waveform: false`). */
function stageLoopWithoutWaveform(pkgs: StagePackages): (i: number) => number {
  return (i) => validatedBodyBytes(pkgs, pkgs.buildBundle(prediction(i)));
}

/**
 * The write stage's tail on a built Bundle: validate it, make the body's bytes (serializeBundle, as the FHIR client
 * does, where the tree has it; else JSON.stringify and UTF-8); their length.
 */
function validatedBodyBytes(pkgs: StagePackages, bundle: Bundle): number {
  pkgs.validateBundle(bundle);
  return pkgs.serializeBundle ? pkgs.serializeBundle(bundle).length : Buffer.byteLength(JSON.stringify(bundle));
}

async function stageBench(): Promise<void> {
  const trees: Array<[string, StagePackages]> = [
    ['this tree', await stagePackages(fileURLToPath(new URL('..', import.meta.url)))],
  ];
  if (values.before) trees.unshift(['before', await stagePackages(values.before)]);
  const payloadOf = (pkgs: StagePackages): Uint8Array => pkgs.encodeEcgPayload({ ...ecg });
  const COUNT = 200;
  const perTree = new Map<string, number[]>();
  // Warm up the JIT (a few dozen calls left the validator's walk and the serialiser still compiling).
  for (const [, pkgs] of trees) {
    const loop = stageLoop(pkgs, payloadOf(pkgs));
    for (let i = 0; i < 300; i++) loop(i);
  }
  const [, self] = trees[trees.length - 1] as [string, StagePackages];
  const withoutWaveform = stageLoopWithoutWaveform(self);
  for (let i = 0; i < 300; i++) withoutWaveform(i);
  const withoutRounds: number[] = [];
  // Interleaved rounds (before, this, this without the waveform, before, ...): the better of each one's rounds is kept.
  for (let round = 0; round < 6; round++) {
    for (const [name, pkgs] of trees) {
      const payload = payloadOf(pkgs);
      perTree.set(name, [...(perTree.get(name) ?? []), cpuMsPer(COUNT, stageLoop(pkgs, payload))]);
    }
    withoutRounds.push(cpuMsPer(COUNT, withoutWaveform));
  }
  // The payload codec, this tree's, both versions (encode at ingest, decode at infer and write).
  const codec = (version: 1 | 2) => {
    const bytes = self.encodeEcgPayload(ecg, { version });
    for (let i = 0; i < 20; i++) self.decodeEcgPayload(self.encodeEcgPayload(ecg, { version }));
    return {
      bytes: bytes.length,
      encodeMs: Math.min(
        cpuMsPer(50, () => self.encodeEcgPayload(ecg, { version })),
        cpuMsPer(50, () => self.encodeEcgPayload(ecg, { version })),
      ),
      decodeMs: Math.min(
        cpuMsPer(50, () => self.decodeEcgPayload(bytes)),
        cpuMsPer(50, () => self.decodeEcgPayload(bytes)),
      ),
    };
  };
  const v1 = codec(1);
  const v2 = codec(2);
  const v2Again = codec(2);
  const v1Again = codec(1);
  const best = (a: typeof v1, b: typeof v1) => ({
    bytes: a.bytes,
    encodeMs: Math.min(a.encodeMs, b.encodeMs),
    decodeMs: Math.min(a.decodeMs, b.decodeMs),
  });
  const c1 = best(v1, v1Again);
  const c2 = best(v2, v2Again);
  console.log(`load ${loadavg()[0]?.toFixed(2)} (1 min), ${cpus().length} cores, node ${process.version}`);
  console.log(
    `payload, 12 leads x 5000 at 2.5 uV: v1 ${(c1.bytes / 1024).toFixed(0)} KB, encode ${c1.encodeMs.toFixed(3)} ms, decode ${c1.decodeMs.toFixed(3)} ms; ` +
      `v2 ${(c2.bytes / 1024).toFixed(0)} KB (${(c2.bytes / c1.bytes).toFixed(2)}x), encode ${c2.encodeMs.toFixed(3)} ms, decode ${c2.decodeMs.toFixed(3)} ms (CPU per ECG)`,
  );
  /** A loop's best round and every round, as the lines below print them. */
  const bestOf = (rounds: number[]): string =>
    `${Math.min(...rounds).toFixed(2)} ms best of ${rounds.length} rounds [${rounds.map((r) => r.toFixed(2)).join(', ')}]`;
  for (const [name] of trees) {
    console.log(
      `write stage CPU per ECG (${name}): ${bestOf(perTree.get(name) ?? [])} ` +
        '(payload decode + build + validate + body bytes, waveform on, no network)',
    );
  }
  const withWaveformMs = Math.min(...(perTree.get('this tree') ?? []));
  console.log(
    `write stage CPU per ECG (this tree, waveform off): ${bestOf(withoutRounds)} (build + validate + body bytes); ` +
      `the waveform's own cost in the write stage: ${(withWaveformMs - Math.min(...withoutRounds)).toFixed(2)} ms per ECG`,
  );
  if (values.before) {
    const before = Math.min(...(perTree.get('before') ?? []));
    console.log(
      `write stage CPU, this tree / before: ${(withWaveformMs / before).toFixed(2)}x (same run, interleaved)`,
    );
  }
}
