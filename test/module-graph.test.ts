/**
 * The kernel carries no infrastructure: importing @ecgcad/ecg, the stages' main entries (decoders, model, FHIR
 * builders) or @ecgcad/clinical, and running `ecgcad inspect` and `ecgcad run`, loads no BullMQ and no ioredis
 * module. Each case runs in a child Node process against the built packages (dist; `npm test` builds first) with
 * test/support/load-recorder.mjs recording every module loaded; @ecgcad/queue (and ioredis itself) is the control.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { synthesizeEcg } from '@ecgcad/ecg';
import { writeDicomEcg } from '@ecgcad/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const recorder = join(root, 'test/support/load-recorder.mjs');
const cli = join(root, 'packages/engine/dist/cli.js');
const QUEUE_MODULE = /\/node_modules\/(bullmq|ioredis)\//;

let dir = '';

/** Runs `node --import load-recorder <args>` from the repo root; returns the modules it loaded. */
async function loadedModules(args: string[]): Promise<string[]> {
  const log = join(dir, `loads-${Math.random().toString(36).slice(2)}.log`);
  await run(process.execPath, ['--import', recorder, ...args], {
    cwd: root,
    env: { ...process.env, ECGCAD_LOAD_LOG: log },
    timeout: 60_000,
  });
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

const importArgs = (pkg: string): string[] => ['--input-type=module', '-e', `await import('${pkg}')`];

beforeAll(() => {
  for (const pkg of ['ecg', 'queue', 'ingest', 'infer', 'fhir-writer', 'clinical', 'engine']) {
    if (!existsSync(join(root, `packages/${pkg}/dist/index.js`)))
      throw new Error(`packages/${pkg}/dist is missing: build first (npx turbo run build)`);
  }
  dir = mkdtempSync(join(tmpdir(), 'ecgcad-module-graph-'));
  writeFileSync(join(dir, 'synthetic.dcm'), writeDicomEcg(synthesizeEcg({ seed: 7, durationS: 10 })));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('modules loaded by each entry point', () => {
  it('the control: the recorder sees bullmq (loaded by @ecgcad/queue) and ioredis', async () => {
    // BullMQ loads its Redis client lazily, on the first connection, so the control imports ioredis itself.
    const loaded = await loadedModules([
      '--input-type=module',
      '-e',
      "await import('@ecgcad/queue'); await import('ioredis')",
    ]);
    expect(loaded.some((m) => m.includes('/node_modules/bullmq/'))).toBe(true);
    expect(loaded.some((m) => m.includes('/node_modules/ioredis/'))).toBe(true);
  });

  it.each(['@ecgcad/ecg', '@ecgcad/ingest', '@ecgcad/infer', '@ecgcad/fhir-writer', '@ecgcad/clinical'])(
    'import(%s) loads no bullmq or ioredis module',
    async (pkg) => {
      const loaded = await loadedModules(importArgs(pkg));
      expect(loaded.some((m) => m.includes(`/packages/${pkg.slice('@ecgcad/'.length)}/dist/`))).toBe(true);
      expect(loaded.filter((m) => QUEUE_MODULE.test(m))).toEqual([]);
    },
  );

  it('`ecgcad inspect <file>` loads no bullmq or ioredis module', async () => {
    const loaded = await loadedModules([cli, 'inspect', join(dir, 'synthetic.dcm')]);
    expect(loaded.some((m) => m.includes('/packages/ingest/dist/'))).toBe(true);
    expect(loaded.filter((m) => QUEUE_MODULE.test(m))).toEqual([]);
  });

  it('`ecgcad run <file>` (demo model, Bundle files) loads no bullmq or ioredis module', async () => {
    const out = join(dir, 'out');
    const loaded = await loadedModules([cli, 'run', '--out', out, '--no-progress', join(dir, 'synthetic.dcm')]);
    expect(loaded.some((m) => m.includes('/node_modules/onnxruntime-node/'))).toBe(true);
    expect(existsSync(out)).toBe(true);
    expect(loaded.filter((m) => QUEUE_MODULE.test(m))).toEqual([]);
  });
});
