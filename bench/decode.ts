/**
 * Decode and prepare throughput on the shared sample files, single thread.
 *
 *   npx turbo run build && npx tsx bench/decode.ts [--seconds 1.5]
 *
 * Prints, per file: decode alone and decode + prepare (the default 12 x 5000 model input) in MB/s and ECGs/s on
 * one core, and for aECG the ratio of our decode to a plain fast-xml-parser parse of the same text (which yields
 * strings, not samples). Targets: DICOM >= 1,000 ten-second 12-lead ECGs/s/core (decode + prepare); aECG >= 50 MB/s.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { prepare, preparedLength } from '@ecgcad/ecg';
import { DEFAULT_INPUT_SPEC, decodeEcg } from '@ecgcad/ingest';
import { XMLParser } from 'fast-xml-parser';

const SAMPLES_DIR = process.env.ECGCAD_SAMPLES_DIR ?? fileURLToPath(new URL('../../shared/samples', import.meta.url));
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1.5;

/** Runs `fn` repeatedly for about SECONDS (after a warm-up) and returns calls per second. */
function rate(fn: () => void): number {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 10; i++) fn();
    calls += 10;
    now = performance.now();
  }
  return calls / ((now - start) / 1000);
}

const meta = { feed: 'bench', receivedAt: '2024-01-01T00:00:00.000Z' };
const out = new Float32Array(preparedLength(DEFAULT_INPUT_SPEC));
const fmt = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, node ${process.version}`);
console.log(
  `${SECONDS} s per measurement, one thread; prepare = ${DEFAULT_INPUT_SPEC.leads.length} leads x ${DEFAULT_INPUT_SPEC.samples} at ${DEFAULT_INPUT_SPEC.sampleRateHz} Hz, filter + z-score`,
);
console.log('');

const files = [
  'dicom_mortara_el250_12lead.dcm',
  'dicom_gemarquette_maclab_hemodynamic_12ch.dcm',
  'aecg_hl7_2003_example.xml',
  'aecg_liryc_100hz_example.xml',
  'ge_muse_restingecg_example1.xml',
];
const header = ['file', 'KB', 'source', 'decode ECG/s', 'decode MB/s', 'decode+prepare ECG/s', 'decode+prepare MB/s'];
const rows: string[][] = [];
const summary: Record<string, { decodeMBs: number; fullEcgs: number; plainRatio?: number }> = {};

for (const name of files) {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(`${SAMPLES_DIR}/${name}`));
  } catch {
    console.log(`skipped ${name}: not found in ${SAMPLES_DIR}`);
    continue;
  }
  const ecg = decodeEcg(bytes, meta);
  const leads = Object.keys(ecg.leads).length;
  const samples = ecg.leads.II?.length ?? 0;
  const decodeRate = rate(() => decodeEcg(bytes, meta));
  const fullRate = rate(() => prepare(decodeEcg(bytes, meta), DEFAULT_INPUT_SPEC, out));
  const mb = bytes.length / 1e6;
  rows.push([
    name,
    fmt(bytes.length / 1024),
    `${leads} x ${samples} @ ${ecg.sampleRateHz} Hz`,
    fmt(decodeRate),
    fmt(decodeRate * mb, 1),
    fmt(fullRate),
    fmt(fullRate * mb, 1),
  ]);
  summary[name] = { decodeMBs: decodeRate * mb, fullEcgs: fullRate };
  if (name.startsWith('aecg')) {
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
const mortara = summary['dicom_mortara_el250_12lead.dcm'];
const hl7 = summary['aecg_hl7_2003_example.xml'];
if (mortara) {
  console.log(
    `target DICOM >= 1,000 ten-second 12-lead ECGs/s/core (decode+prepare, 1000 Hz source): ${fmt(mortara.fullEcgs)} -> ${mortara.fullEcgs >= 1000 ? 'met' : 'NOT met'}`,
  );
}
if (hl7) {
  console.log(
    `target aECG >= 50 MB/s (decode, 500 KB file): ${fmt(hl7.decodeMBs, 1)} MB/s -> ${hl7.decodeMBs >= 50 ? 'met' : 'NOT met'}`,
  );
}
