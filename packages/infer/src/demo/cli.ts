#!/usr/bin/env node
/**
 * Generates a Net1D model folder with seeded demonstration weights.
 *   node dist/demo/cli.js --config demo|full --out DIR [--fp16] [--seed N] [--force]
 * Skips the work when DIR already holds the same model (idempotent builds).
 */
import { parseArgs } from 'node:util';
import { generateModelFolder } from './generate.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'demo' },
    out: { type: 'string' },
    fp16: { type: 'boolean', default: false },
    seed: { type: 'string' },
    force: { type: 'boolean', default: false },
  },
});
if (!values.out) {
  process.stderr.write('usage: cli.js --config demo|full --out DIR [--fp16] [--seed N] [--force]\n');
  process.exit(2);
}
const started = performance.now();
const result = await generateModelFolder({
  config: values.config,
  outDir: values.out,
  float16: values.fp16,
  force: values.force,
  ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `${result.written ? 'wrote' : 'up to date:'} ${result.outDir} (${result.card.id} ${result.card.version}, ` +
    `${(result.parameters / 1e6).toFixed(2)} M parameters, ${(result.flopsPerEcg / 1e9).toFixed(3)} GFLOP per ECG, ` +
    `${(result.bytes / 1e6).toFixed(1)} MB, ${seconds} s)\n`,
);
