/**
 * Synthetic ECG throughput on one core: generate, and generate + encode as DICOM 12-lead and as HL7 aECG
 * (in memory; one extra pass writes files to a temp folder to show the file-system share).
 * Run: `npx turbo run build && npx tsx bench/synth.ts [count]` (default 10,000 ECGs per measured configuration).
 * Prints ECGs per second and the ratios between configurations, measured in this run, plus the machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ecg, synthesizeEcg } from '@ecgcad/ecg';
import { writeAecg, writeDicomEcg } from '@ecgcad/ingest';

const count = Number(process.argv[2] ?? 10_000);
const options = { sampleRateHz: 500, durationS: 10 } as const;

interface Row {
  name: string;
  seconds: number;
  /** CPU time of this process (user + system), which other load on the machine inflates far less than wall time. */
  cpuSeconds: number;
  perS: number;
  msPer: number;
  cpuMsPer: number;
  mb: number;
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function measure(name: string, n: number, work: (seed: number) => number): Row {
  // Warm-up so the JIT has compiled the hot loops before timing.
  for (let i = 0; i < 50; i++) work(1_000_000 + i);
  const started = performance.now();
  const cpuStarted = cpuNow();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += work(i);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuNow() - cpuStarted;
  return {
    name,
    seconds,
    cpuSeconds,
    perS: n / seconds,
    msPer: (seconds * 1000) / n,
    cpuMsPer: (cpuSeconds * 1000) / n,
    mb: bytes / 1e6,
  };
}

const generate =
  (fast: boolean) =>
  (seed: number): Ecg =>
    synthesizeEcg({ ...options, seed, fast });

const rows: Row[] = [];
rows.push(
  measure('generate (exact noise)', Math.min(count, 2000), (s) => {
    generate(false)(s);
    return 0;
  }),
);
rows.push(
  measure('generate (fast)', count, (s) => {
    generate(true)(s);
    return 0;
  }),
);
rows.push(measure('generate (fast) + DICOM 12-lead', count, (s) => writeDicomEcg(generate(true)(s)).length));
rows.push(measure('generate (fast) + aECG 12-lead', count, (s) => writeAecg(generate(true)(s)).length));
rows.push(
  measure('generate (exact) + DICOM 12-lead', Math.min(count, 2000), (s) => writeDicomEcg(generate(false)(s)).length),
);
const fixed = synthesizeEcg({ ...options, seed: 1 });
rows.push(measure('DICOM encode only', count, () => writeDicomEcg(fixed).length));
rows.push(measure('aECG encode only', count, () => writeAecg(fixed).length));
const dir = mkdtempSync(join(tmpdir(), 'ecgcad-bench-synth-'));
const fileCount = Math.min(count, 2000);
rows.push(
  measure('generate (fast) + DICOM + write file', fileCount, (s) => {
    const bytes = writeDicomEcg(generate(true)(s));
    writeFileSync(join(dir, `synth-${s}.dcm`), bytes);
    return bytes.length;
  }),
);
rmSync(dir, { recursive: true, force: true });

const cpu = cpus()[0]?.model ?? 'unknown cpu';
console.log(`machine: ${cpu}, ${cpus().length} cores (this benchmark uses one), node ${process.version}`);
console.log(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (wall times suffer from other load; CPU times much less)`,
);
console.log(
  `ECGs: 12 leads, ${options.durationS} s at ${options.sampleRateHz} Hz; ${count} per configuration (exact-noise and file rows: ${Math.min(count, 2000)})`,
);
console.log('');
console.log('configuration                              ECG/s  wall ms/ECG  CPU ms/ECG  MB/s (wall)');
for (const r of rows) {
  console.log(
    `${r.name.padEnd(40)} ${r.perS.toFixed(0).padStart(6)} ${r.msPer.toFixed(3).padStart(12)} ${r.cpuMsPer.toFixed(3).padStart(11)} ${(r.mb / r.seconds).toFixed(0).padStart(6)}`,
  );
}
const by = (name: string): Row => rows.find((r) => r.name === name) as Row;
const dicom = by('generate (fast) + DICOM 12-lead');
const aecg = by('generate (fast) + aECG 12-lead');
console.log('');
console.log('ratios of CPU time (same run):');
console.log(
  `  exact / fast generation:                 ${(by('generate (exact noise)').cpuMsPer / by('generate (fast)').cpuMsPer).toFixed(2)}x`,
);
console.log(
  `  DICOM encode share of generate+DICOM:    ${((by('DICOM encode only').cpuMsPer / dicom.cpuMsPer) * 100).toFixed(0)} %`,
);
console.log(
  `  aECG encode share of generate+aECG:      ${((by('aECG encode only').cpuMsPer / aecg.cpuMsPer) * 100).toFixed(0)} %`,
);
console.log(
  `  aECG / DICOM encode:                     ${(by('aECG encode only').cpuMsPer / by('DICOM encode only').cpuMsPer).toFixed(2)}x`,
);
console.log(
  `  10,000 ECGs, CPU: generate+DICOM ${(dicom.cpuMsPer * 10).toFixed(1)} s, generate+aECG ${(aecg.cpuMsPer * 10).toFixed(1)} s; ` +
    `wall: ${(dicom.msPer * 10).toFixed(1)} s, ${(aecg.msPer * 10).toFixed(1)} s (budget: well under 60 s)`,
);
