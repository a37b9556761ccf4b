/**
 * Decode and prepare throughput on the shared sample files, single thread.
 *
 *   npx turbo run build && npx tsx bench/decode.ts [--seconds 1.5]
 *
 * Prints, per file: decode alone and decode + prepare (the default 12 x 5000 model input) in MB/s and ECGs/s on
 * one core, and for aECG the ratio of our decode to a plain fast-xml-parser parse of the same text (which yields
 * strings, not samples). Synthetic 10 s 12-lead records written by the project's own DICOM and aECG writers are
 * measured too, so the benchmark also runs where the shared samples are absent. decode+prepare is also given per
 * CPU-second of this process (user + system time), which is what "per core" means on a shared, loaded machine. Targets: DICOM >= 1,000 ten-second 12-lead ECGs/s/core (decode + prepare); aECG >= 50 MB/s.
 *
 * The first table runs in a plain node process (glibc's default thresholds, which trim the heap); then the DICOM
 * inputs run again in a child process that first calls raiseHeapThresholds(), as the `ecgcad` command does at
 * start-up (packages/ingest/src/heap.ts, docs/OPERATIONS.md), so both figures are printed, each with its minor
 * page faults per decode + prepare. `--dicom-only` runs the DICOM inputs alone, `--no-engine-heap` skips the child,
 * `--engine-heap` is the child's own flag.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_INPUT_SPEC, getResampler, prepare, preparedLength, synthesizeEcg } from '@ecgcad/ecg';
import { decodeEcg, raiseHeapThresholds, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { XMLParser } from 'fast-xml-parser';

const SAMPLES_DIR = process.env.ECGCAD_SAMPLES_DIR ?? fileURLToPath(new URL('../../shared/samples', import.meta.url));
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1.5;
const DICOM_ONLY = process.argv.includes('--dicom-only');
const isDicom = (name: string) => name.startsWith('dicom') || name.startsWith('synthetic DICOM');
const ENGINE_HEAP = process.argv.includes('--engine-heap');
if (ENGINE_HEAP) raiseHeapThresholds();
const heapSetting = (engine: boolean) =>
  engine
    ? 'glibc thresholds raised at start, as the ecgcad command runs (raiseHeapThresholds)'
    : "plain node process (glibc's default thresholds: heap trimming on)";

/** Calls per second of `fn` over about SECONDS (after a warm-up): by wall time, and by this process's CPU time. */
interface Rate {
  wall: number;
  /** Calls per CPU-second (user + system) of this process: time spent descheduled on a shared box is not counted. */
  cpu: number;
  /** Minor page faults per call (fresh memory the kernel had to map). */
  faults: number;
}

/** Runs `fn` repeatedly for about SECONDS (after a warm-up). */
function measure(fn: () => void): Rate {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
  const end = start + SECONDS * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  const faults = (process.resourceUsage().minorPageFault - faults0) / calls;
  return { wall: calls / ((now - start) / 1000), cpu: calls / ((cpu.user + cpu.system) / 1e6), faults };
}

/** Calls per wall-clock second (the original figure). */
function rate(fn: () => void): number {
  return measure(fn).wall;
}

const meta = { feed: 'bench', receivedAt: '2024-01-01T00:00:00.000Z' };
const out = new Float32Array(preparedLength(DEFAULT_INPUT_SPEC));
const fmt = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, node ${process.version}, load average ${loadavg()[0]?.toFixed(2)}`,
);
const mallocEnv = Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_'));
console.log(
  `malloc: ${heapSetting(ENGINE_HEAP)}${mallocEnv.length > 0 ? `; environment sets ${mallocEnv.map(([k, v]) => `${k}=${v}`).join(' ')} (glibc's adaptation off)` : ''}`,
);
console.log(
  `${SECONDS} s per measurement, one thread; prepare = ${DEFAULT_INPUT_SPEC.leads.length} leads x ${DEFAULT_INPUT_SPEC.samples} at ${DEFAULT_INPUT_SPEC.sampleRateHz} Hz, filter + z-score`,
);
console.log('');

/** Inputs: name and bytes. The shared samples where present, plus synthetic records. */
const inputs: Array<{ name: string; bytes: Uint8Array }> = [];
const sampleFiles = [
  'dicom_mortara_el250_12lead.dcm',
  'dicom_gemarquette_maclab_hemodynamic_12ch.dcm',
  'aecg_hl7_2003_example.xml',
  'aecg_liryc_100hz_example.xml',
  'ge_muse_restingecg_example1.xml',
];
for (const name of sampleFiles) {
  if (DICOM_ONLY && !isDicom(name)) continue;
  try {
    inputs.push({ name, bytes: new Uint8Array(readFileSync(`${SAMPLES_DIR}/${name}`)) });
  } catch {
    console.log(`skipped ${name}: not found in ${SAMPLES_DIR}`);
  }
}
for (const rateHz of [500, 1000]) {
  const ecg = synthesizeEcg({ seed: 7, sampleRateHz: rateHz, durationS: 10 });
  inputs.push({ name: `synthetic DICOM ${rateHz} Hz (ecgcad writer)`, bytes: writeDicomEcg(ecg) });
  if (!DICOM_ONLY) inputs.push({ name: `synthetic aECG ${rateHz} Hz (ecgcad writer)`, bytes: writeAecg(ecg) });
}

const header = [
  'file',
  'KB',
  'source',
  'decode ECG/s',
  'decode MB/s',
  'prepare alone ECG/s',
  'decode+prepare ECG/s',
  'decode+prepare ECG/CPU-s',
  'decode+prepare MB/s',
  'page faults/ECG',
];
const rows: string[][] = [];
const summary: Record<string, { decodeMBs: number; fullEcgs: number; fullCpuEcgs: number; plainRatio?: number }> = {};

for (const { name, bytes } of inputs) {
  const ecg = decodeEcg(bytes, meta);
  const leads = Object.keys(ecg.leads).length;
  const samples = ecg.leads.II?.length ?? 0;
  const decodeRate = rate(() => decodeEcg(bytes, meta));
  const prepareRate = rate(() => prepare(ecg, DEFAULT_INPUT_SPEC, out));
  const full = measure(() => prepare(decodeEcg(bytes, meta), DEFAULT_INPUT_SPEC, out));
  const fullRate = full.wall;
  const mb = bytes.length / 1e6;
  rows.push([
    name,
    fmt(bytes.length / 1024),
    `${leads} x ${samples} @ ${ecg.sampleRateHz} Hz`,
    fmt(decodeRate),
    fmt(decodeRate * mb, 1),
    fmt(prepareRate),
    fmt(fullRate),
    fmt(full.cpu),
    fmt(fullRate * mb, 1),
    fmt(full.faults, 1),
  ]);
  summary[name] = { decodeMBs: decodeRate * mb, fullEcgs: fullRate, fullCpuEcgs: full.cpu };
  if (name.startsWith('aecg') || name.startsWith('synthetic aECG')) {
    const text = new TextDecoder().decode(bytes);
    const plain = new XMLParser({ ignoreAttributes: false, processEntities: false });
    const plainRate = rate(() => plain.parse(text));
    (summary[name] as { plainRatio?: number }).plainRatio = decodeRate / plainRate;
  }
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log('');
for (const [name, s] of Object.entries(summary)) {
  if (s.plainRatio !== undefined) {
    console.log(
      `${name}: decode (samples out) runs at ${fmt(s.plainRatio, 2)}x the speed of a plain fast-xml-parser parse (strings out)`,
    );
  }
}
const targets: Array<[string, string]> = [
  ['dicom_mortara_el250_12lead.dcm', '1000 Hz sample'],
  ['synthetic DICOM 500 Hz (ecgcad writer)', '500 Hz synthetic'],
  ['synthetic DICOM 1000 Hz (ecgcad writer)', '1000 Hz synthetic'],
];
for (const [name, label] of targets) {
  const s = summary[name];
  if (!s) continue;
  const verdict = s.fullEcgs >= 1000 ? 'met' : 'NOT met';
  const cpuVerdict = s.fullCpuEcgs >= 1000 ? 'met' : 'NOT met';
  console.log(
    `target DICOM >= 1,000 ECGs/s/core, decode+prepare (${label}, ${ENGINE_HEAP ? 'engine' : 'plain'} process): ${fmt(s.fullEcgs)} per wall second -> ${verdict}; ${fmt(s.fullCpuEcgs)} per CPU second -> ${cpuVerdict}`,
  );
}

if (DICOM_ONLY) process.exit(0);

// Same run, same lead: the resampler prepare() uses for a 1000 Hz record under the card's 40 Hz low-pass (protected
// band 0-50 Hz) against the full anti-aliasing design that plain resample() uses.
{
  const lead = synthesizeEcg({ seed: 7, sampleRateHz: 1000, durationS: 10 }).leads.II as Float32Array;
  const protectedBand = getResampler(1000, 500, { protectBandHz: 50 });
  const fullDesign = getResampler(1000, 500);
  const row = new Float64Array(fullDesign.outputLength(lead.length));
  const a = measure(() => fullDesign.process(lead, lead.length, row));
  const b = measure(() => protectedBand.process(lead, lead.length, row));
  console.log(
    `resampling one 10 s lead 1000 -> 500 Hz: full design ${fullDesign.multipliesPerOutput} multiplications per output, ${fmt(1e6 / a.cpu, 1)} us; protected band ${protectedBand.multipliesPerOutput}, ${fmt(1e6 / b.cpu, 1)} us (${fmt(a.cpu > 0 ? b.cpu / a.cpu : 0, 2)}x faster, CPU time)`,
  );
}
for (const name of ['aecg_hl7_2003_example.xml', 'synthetic aECG 500 Hz (ecgcad writer)']) {
  const s = summary[name];
  if (!s) continue;
  const verdict = s.decodeMBs >= 50 ? 'met' : 'NOT met';
  console.log(`target aECG >= 50 MB/s, decode (${name}): ${fmt(s.decodeMBs, 1)} MB/s -> ${verdict}`);
}
console.log(
  `load average at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (other processes share these cores)`,
);

// The DICOM inputs again, in a child process that raises glibc's thresholds first, as the ecgcad command does.
if (!process.argv.includes('--no-engine-heap')) {
  console.log(`\nDICOM inputs again in a child process: ${heapSetting(true)}\n`);
  const child = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--seconds',
      String(SECONDS),
      '--dicom-only',
      '--engine-heap',
    ],
    { stdio: 'inherit' },
  );
  if (child.status !== 0) console.log(`the child process failed (${child.status ?? child.signal})`);
}
