import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests import workspace packages from source, so unit tests need no build. A package's subpath exports
// (`@ecgcad/ingest/worker`) map to the file of that name in its src; the bare name maps to its index.
const alias = [
  { find: /^@ecgcad\/([a-z-]+)\/([a-z-]+)$/, replacement: src('$1/src/$2.ts') },
  { find: /^@ecgcad\/([a-z-]+)$/, replacement: src('$1/src/index.ts') },
];

// The WebAssembly kernels are assembled from their .wat source before any test runs (src/simd-kernels.ts reads
// packages/ecg/dist/kernels/), so a test never runs a stale binary.
const globalSetup = ['./packages/ecg/scripts/build-kernels.mjs'];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          testTimeout: 30_000,
          globalSetup,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Integration tests share Redis, ports and the test EHR: run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
