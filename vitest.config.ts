import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (name: string): string => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

// Tests import workspace packages from source, so unit tests need no build.
const alias = {
  '@ecgcad/ecg': pkg('ecg'),
  '@ecgcad/ingest': pkg('ingest'),
  '@ecgcad/infer': pkg('infer'),
  '@ecgcad/fhir-writer': pkg('fhir-writer'),
  '@ecgcad/clinical': pkg('clinical'),
  '@ecgcad/engine': pkg('engine'),
};

// The WebAssembly kernels are assembled from their .wat source before any test runs (src/simd-kernels.ts reads
// packages/ecg/dist/kernels/), so a test never runs a stale binary.
const globalSetup = ['./packages/ecg/scripts/build-kernels.mjs'];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'], testTimeout: 30_000, globalSetup },
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
