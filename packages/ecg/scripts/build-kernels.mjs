/**
 * Assembles the WebAssembly SIMD kernels: src/kernels/*.wat (the source, committed) into dist/kernels/*.wasm (built,
 * never committed), with wabt, the WebAssembly Binary Toolkit's own assembler compiled to JavaScript.
 *
 *   node scripts/build-kernels.mjs     (the package's `build` runs it before tsc)
 *
 * src/simd-kernels.ts reads the binary beside its compiled self (dist/kernels/) or, run from source as the tests
 * run it, from dist/kernels/ too; vitest's global setup (vitest.config.ts) runs this file first, so a test always
 * runs the kernels assembled from the .wat files as they are now.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const SOURCE_DIR = fileURLToPath(new URL('../src/kernels/', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('../dist/kernels/', import.meta.url));

/** Assembles one module's text; throws with wabt's message (file, line, column) when it is not valid. */
export async function assemble(fileName, text) {
  const wabt = await initWabt();
  const module = wabt.parseWat(fileName, text, { simd: true });
  try {
    module.resolveNames();
    module.validate();
    // Function and local names kept (a name section of a few hundred bytes): profiles and stack traces show them.
    return module.toBinary({ log: false, write_debug_names: true }).buffer;
  } finally {
    module.destroy();
  }
}

/** Assembles every src/kernels/*.wat into dist/kernels/*.wasm; returns the paths written. */
export async function buildKernels() {
  mkdirSync(OUT_DIR, { recursive: true });
  const written = [];
  for (const name of readdirSync(SOURCE_DIR).filter((f) => f.endsWith('.wat'))) {
    const bytes = await assemble(name, readFileSync(SOURCE_DIR + name, 'utf8'));
    const target = `${OUT_DIR}${basename(name, '.wat')}.wasm`;
    // Written aside and renamed, so a test run and a build at the same time never see half a file.
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, bytes);
    renameSync(temporary, target);
    written.push(target);
  }
  return written;
}

/** vitest global setup: the tests import src/ through aliases, and src/simd-kernels.ts reads dist/kernels/. */
export async function setup() {
  await buildKernels();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildKernels();
}
