/**
 * Paired A/B runs of one bench on two builds (issue #16: changes of a few per cent under a host spread of 10-25 %).
 * Runs the bench alternately in two checkouts (A first in rounds 1, 3, ..., B first in 2, 4, ...), reads its measures
 * from each output, and prints per measure the medians, the mean paired difference B - A with its 95 % interval,
 * and how many pairs agree (test/support/paired.ts).
 *
 *   npx tsx bench/ab.ts --a DIR --b DIR [--rounds 6] [--bench e2e|feed|backfill|floor] [--measure NAME=REGEX]...
 *     [--a-flags='NODE FLAGS'] [--b-flags='NODE FLAGS'] [--keep DIR] -- [the bench's own arguments]
 *
 *   e.g. npx tsx bench/ab.ts --a /work/wt/base --b . --rounds 6 -- --model demo --count 300
 *
 * Each DIR is a built checkout with its node_modules (a git worktree whose node_modules are hard-linked copies
 * does: `git worktree add --detach ../base HEAD`, `cp -al node_modules ../base/`, the same for each
 * packages/<name>/node_modules, then `npx turbo run build` there). The bench file run is the checkout's own, so a
 * measure that A's bench does not print is reported missing for A. `--measure` adds (or replaces) a measure: the
 * first number the regular expression's first group captures. `--a-flags` / `--b-flags` give one side's node its own
 * flags (V8's, say; the same checkout on both sides then compares settings). `--keep DIR` writes every run's output
 * there.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pairedSummary, roundOrder } from '../test/support/paired.js';

/** A measure read from a bench's output: its name and where it stands. */
interface Measure {
  name: string;
  pattern: RegExp;
  /** With two groups: the first over the second (a measure over a yardstick from the same line). */
  ratio?: boolean;
}

const NUMBER = '([0-9]+(?:\\.[0-9]+)?)';

/** What each bench prints of its targets (bench/<name>.ts's own lines). */
const MEASURES: Record<string, Measure[]> = {
  e2e: [
    { name: 'engine CPU/ECG', pattern: new RegExp(`engine CPU per ECG outside inference: ${NUMBER} ms`) },
    // The test EHR runs the same code in every run, so its CPU per ECG moves with the host alone (7-10 ms on one
    // PVM host within an hour); the engine's CPU over it takes most of that drift out of a pair.
    {
      name: 'engine CPU / EHR CPU',
      pattern: new RegExp(`^full blast:[^\\n]*\\n[^\\n]*outside inference ${NUMBER} ms[^\\n]*EHR ${NUMBER} ms`, 'm'),
      ratio: true,
    },
    { name: 'main thread', pattern: new RegExp(`^full blast:[^\\n]*\\n[^\\n]*main thread ${NUMBER}`, 'm') },
    {
      name: 'V8 helpers + libuv',
      pattern: new RegExp(`^full blast:[^\\n]*\\n[^\\n]*V8 helper \\+ libuv threads ${NUMBER}`, 'm'),
    },
    { name: 'Redis round trips/ECG', pattern: new RegExp(`${NUMBER} client reads`) },
    { name: 'Redis GETs/ECG', pattern: new RegExp(`${NUMBER} GETs`) },
    { name: 'write syscalls/ECG', pattern: new RegExp(`${NUMBER} write-like`) },
    { name: 'GC pause/ECG', pattern: new RegExp(`GC in the engine process per ECG: ${NUMBER} ms`) },
    { name: 'promoted KB/ECG', pattern: new RegExp(`${NUMBER} KB promoted`) },
    { name: 'mark-compacts, full blast', pattern: new RegExp(`${NUMBER} mark-compacts`) },
    { name: 'heap MB after full blast', pattern: new RegExp(`heap ${NUMBER} MB at the end`) },
    { name: 'p95 half rate', pattern: new RegExp(`p95 at half rate: ${NUMBER} ms`) },
  ],
  feed: [
    { name: 'C-STORE 1 assoc ratio', pattern: new RegExp(`C-STORE 1 association: ${NUMBER} x`) },
    {
      name: 'C-STORE feed CPU/file',
      pattern: new RegExp(`^C-STORE, 1 association[^\\n]*feed CPU ${NUMBER} ms`, 'm'),
    },
    { name: 'C-STORE 4 assoc ratio', pattern: new RegExp(`C-STORE, 4 associations: ${NUMBER} x`) },
    { name: 'POST 1 in flight ratio', pattern: new RegExp(`POST /ecg, 1 in flight: ${NUMBER} x`) },
  ],
  backfill: [
    { name: 'full model ratio', pattern: new RegExp(`embedded backfill, full model: ${NUMBER} x`) },
    { name: 'demo model ratio', pattern: new RegExp(`embedded backfill, demo model: ${NUMBER} x`) },
  ],
  floor: [
    { name: 'floor, sum of parts', pattern: new RegExp(`floor of the pipeline's shape: ${NUMBER} ms`) },
    { name: 'floor, composed', pattern: new RegExp(`the same composed [^\\n]*: ${NUMBER} ms per ECG`) },
  ],
};

/** Runs `node [flags] --import tsx bench/<bench>.ts args` in `dir`; resolves with its output (stdout and stderr). */
function runBench(
  dir: string,
  flags: string[],
  bench: string,
  args: string[],
): Promise<{ output: string; code: number | null }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', join('bench', `${bench}.ts`), ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ output: Buffer.concat(chunks).toString('utf8'), code }));
  });
}

/** The measure's value in one output, NaN when the output lacks it. */
function read(measure: Measure, output: string): number {
  const m = measure.pattern.exec(output);
  if (m?.[1] === undefined) return Number.NaN;
  return measure.ratio ? Number(m[1]) / Number(m[2] ?? Number.NaN) : Number(m[1]);
}

function parseMeasure(spec: string): Measure {
  const at = spec.indexOf('=');
  if (at <= 0) throw new Error(`--measure wants NAME=REGEX, got ${spec}`);
  return { name: spec.slice(0, at), pattern: new RegExp(spec.slice(at + 1), 'm') };
}

function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  const split = process.argv.indexOf('--');
  const own = split < 0 ? process.argv.slice(2) : process.argv.slice(2, split);
  const benchArgs = split < 0 ? [] : process.argv.slice(split + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      a: { type: 'string' },
      b: { type: 'string' },
      rounds: { type: 'string', default: '6' },
      bench: { type: 'string', default: 'e2e' },
      measure: { type: 'string', multiple: true },
      keep: { type: 'string' },
      'a-flags': { type: 'string', default: '' },
      'b-flags': { type: 'string', default: '' },
    },
  });
  if (!values.a || !values.b) throw new Error('bench/ab: --a DIR and --b DIR are required');
  const dirs = { a: resolve(values.a), b: resolve(values.b) };
  const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');
  const flags = { a: words(values['a-flags']), b: words(values['b-flags']) };
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 2) throw new Error('bench/ab: --rounds must be an integer >= 2');
  const bench = values.bench;
  const measures = [...(MEASURES[bench] ?? [])];
  for (const spec of values.measure ?? []) {
    const m = parseMeasure(spec);
    const i = measures.findIndex((x) => x.name === m.name);
    if (i >= 0) measures[i] = m;
    else measures.push(m);
  }
  if (measures.length === 0) throw new Error(`bench/ab: no measures known for ${bench}; give --measure NAME=REGEX`);
  if (values.keep) await mkdir(values.keep, { recursive: true });

  console.log(`machine: ${cpus()[0]?.model ?? 'cpu'} x ${cpus().length}, node ${process.version}`);
  const shown = (side: 'a' | 'b') => `${dirs[side]}${flags[side].length ? ` (node ${flags[side].join(' ')})` : ''}`;
  console.log(
    `A: ${shown('a')}\nB: ${shown('b')}\nbench/${bench}.ts ${benchArgs.join(' ')}; ${rounds} rounds, order alternating`,
  );
  const got = { a: measures.map(() => [] as number[]), b: measures.map(() => [] as number[]) };
  for (let round = 0; round < rounds; round++) {
    for (const side of roundOrder(round)) {
      const { output, code } = await runBench(dirs[side], flags[side], bench, benchArgs);
      if (values.keep) await writeFile(join(values.keep, `round${round + 1}-${side}.log`), output);
      const row = measures.map((m) => read(m, output));
      for (const [i, v] of row.entries()) got[side][i]?.push(v);
      const line = measures.map((m, i) => `${m.name} ${fmt(row[i] as number)}`).join(', ');
      console.log(`round ${round + 1} ${side.toUpperCase()}${code === 0 ? '' : ` (exit ${code})`}: ${line}`);
    }
  }

  console.log(
    '\nmeasure                    A median   B median   B - A mean [95 % interval]     relative  pairs B<A / B>A',
  );
  for (const [i, m] of measures.entries()) {
    const s = pairedSummary(got.a[i] ?? [], got.b[i] ?? []);
    const interval = `${fmt(s.meanDifference)} [${fmt(s.low)}, ${fmt(s.high)}]`;
    const relative = Number.isFinite(s.relative) ? `${(100 * s.relative).toFixed(1)} %` : '-';
    console.log(
      `${m.name.padEnd(26)} ${fmt(s.medianA).padStart(8)} ${fmt(s.medianB).padStart(10)}   ${interval.padEnd(29)} ` +
        `${relative.padStart(8)}  ${s.lower} / ${s.higher} of ${s.pairs}: ${s.verdict === 'unclear' ? 'no difference shown' : `B ${s.verdict}`}`,
    );
  }
}

await main();
