import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { checkStructure, importsOf, packageOf } from './check-structure.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const roots: string[] = [];

type Tree = Record<string, string | object>;

/** Writes a workspace fixture: paths relative to a fresh temp root, objects as JSON. */
function fixture(tree: Tree): string {
  const root = mkdtempSync(join(tmpdir(), 'ecgcad-structure-'));
  roots.push(root);
  for (const [path, content] of Object.entries(tree)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

const pkg = (
  name: string,
  dependencies: Record<string, string> = {},
  devDependencies: Record<string, string> = {},
) => ({
  name: `@ecgcad/${name}`,
  dependencies,
  devDependencies,
});

/** A workspace that follows every rule; each test breaks one. */
function goodTree(): Tree {
  return {
    'package.json': { name: 'root', devDependencies: { vitest: '4.1' } },
    'packages/ecg/package.json': pkg('ecg'),
    'packages/ecg/src/index.ts': "import { createHash } from 'node:crypto';\nexport * from './leads.js';\n",
    'packages/ecg/src/leads.ts': 'export const LEADS = 12;\n',
    'packages/ecg/src/leads.test.ts': "import { it } from 'vitest';\nimport { LEADS } from './leads.js';\n",
    'packages/queue/package.json': pkg('queue', { '@ecgcad/ecg': '0.1.0', bullmq: '6.7' }),
    'packages/queue/src/index.ts': "import { Worker } from 'bullmq';\nimport { LEADS } from '@ecgcad/ecg';\n",
    'packages/clinical/package.json': pkg('clinical', { '@ecgcad/ecg': '0.1.0' }),
    'packages/clinical/src/index.ts': "import type { LEADS } from '@ecgcad/ecg';\n",
    'packages/ingest/package.json': pkg('ingest', { '@ecgcad/ecg': '0.1.0', '@ecgcad/queue': '0.1.0' }),
    'packages/ingest/src/index.ts': "export * from '@ecgcad/ecg';\n",
    'packages/ingest/src/worker.ts': "import { Worker } from '@ecgcad/queue';\n",
    'packages/ingest/src/queued-intake.ts': "import type { Queue } from '@ecgcad/queue';\n",
    'packages/fhir-writer/package.json': pkg('fhir-writer', { '@ecgcad/clinical': '0.1.0' }),
    'packages/fhir-writer/src/index.ts': "import { x } from '@ecgcad/clinical';\n",
    'packages/engine/package.json': pkg('engine', {
      '@ecgcad/ingest': '0.1.0',
      '@ecgcad/queue': '0.1.0',
      commander: '14',
    }),
    'packages/engine/src/cli.ts':
      "import { Command } from 'commander';\nconst q = await import('@ecgcad/queue');\nimport '@ecgcad/ingest/worker';\n",
    'packages/engine/src/cli.test.ts': "import { run } from '../../../test/support/cli.js';\n",
  };
}

function rulesOf(root: string): string[] {
  return checkStructure(root).map((v) => `${v.file}${v.line === undefined ? '' : `:${v.line}`} ${v.rule}`);
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('importsOf and packageOf', () => {
  it('finds static, type-only, re-export, dynamic, require and createRequire imports with their lines', () => {
    const source = [
      "import type { A } from 'a';",
      "export * from './b.js';",
      "const c = await import('c');",
      "const d = require('d');",
      "const e = createRequire(import.meta.url)('e');",
      "// import 'not-an-import' in a comment",
    ].join('\n');
    expect(importsOf(source)).toEqual(
      expect.arrayContaining([
        { specifier: 'a', line: 1 },
        { specifier: './b.js', line: 2 },
        { specifier: 'c', line: 3 },
        { specifier: 'd', line: 4 },
        { specifier: 'e', line: 5 },
      ]),
    );
    expect(importsOf(source).map((r) => r.specifier)).not.toContain('not-an-import');
  });

  it('names the package of a specifier', () => {
    expect(packageOf('@ecgcad/ingest/worker')).toBe('@ecgcad/ingest');
    expect(packageOf('fast-check/lib/x')).toBe('fast-check');
    expect(packageOf('bullmq')).toBe('bullmq');
  });
});

describe('checkStructure', () => {
  it('passes a workspace that follows the rules', () => {
    expect(rulesOf(fixture(goodTree()))).toEqual([]);
  });

  it('passes this repository', () => {
    expect(rulesOf(repoRoot)).toEqual([]);
  });

  it('fails a stage that imports another stage', () => {
    const tree = goodTree();
    tree['packages/fhir-writer/package.json'] = pkg('fhir-writer', {
      '@ecgcad/clinical': '0.1.0',
      '@ecgcad/ingest': '0',
    });
    tree['packages/fhir-writer/src/index.ts'] =
      "import { x } from '@ecgcad/clinical';\nimport { decodeEcg } from '@ecgcad/ingest';\n";
    expect(rulesOf(fixture(tree))).toEqual(['packages/fhir-writer/src/index.ts:2 stage-imports-stage']);
  });

  it('fails a kernel that imports a queue client, a server, a network module or a workspace package', () => {
    const tree = goodTree();
    tree['packages/ecg/package.json'] = pkg('ecg', { bullmq: '6.7', '@ecgcad/clinical': '0.1.0' });
    tree['packages/ecg/src/leads.ts'] =
      "import type { Job } from 'bullmq';\nimport { request } from 'node:https';\nimport net from 'net';\nimport '@ecgcad/clinical';\n";
    expect(rulesOf(fixture(tree))).toEqual([
      'packages/ecg/src/leads.ts:1 kernel-infrastructure',
      'packages/ecg/src/leads.ts:2 kernel-infrastructure',
      'packages/ecg/src/leads.ts:3 kernel-infrastructure',
      'packages/ecg/src/leads.ts:4 kernel-imports-workspace',
    ]);
  });

  it('fails clinical or queue importing a workspace package other than the kernel', () => {
    const tree = goodTree();
    tree['packages/clinical/package.json'] = pkg('clinical', { '@ecgcad/ecg': '0.1.0', '@ecgcad/infer': '0' });
    tree['packages/clinical/src/index.ts'] = "import type { LEADS } from '@ecgcad/ecg';\nimport '@ecgcad/infer';\n";
    tree['packages/infer/package.json'] = pkg('infer');
    expect(rulesOf(fixture(tree))).toEqual(['packages/clinical/src/index.ts:2 clinical-imports']);
  });

  it('fails @ecgcad/queue imported outside worker files and the engine, even as a type', () => {
    const tree = goodTree();
    tree['packages/ingest/src/decode.ts'] = "import type { Queue } from '@ecgcad/queue';\n";
    expect(rulesOf(fixture(tree))).toEqual(['packages/ingest/src/decode.ts:1 queue-import']);
  });

  it('fails any package importing the engine', () => {
    const tree = goodTree();
    tree['packages/ingest/package.json'] = pkg('ingest', {
      '@ecgcad/ecg': '0.1.0',
      '@ecgcad/queue': '0.1.0',
      '@ecgcad/engine': '0',
    });
    tree['packages/ingest/src/index.ts'] =
      "export * from '@ecgcad/ecg';\nexport { loadConfig } from '@ecgcad/engine';\n";
    expect(rulesOf(fixture(tree))).toEqual(['packages/ingest/src/index.ts:2 engine-import']);
  });

  it('fails a relative import that reaches into another package', () => {
    const tree = goodTree();
    tree['packages/fhir-writer/src/index.ts'] =
      "import { x } from '@ecgcad/clinical';\nimport { decodeEcg } from '../../ingest/src/index.js';\n";
    expect(rulesOf(fixture(tree))).toEqual(['packages/fhir-writer/src/index.ts:2 relative-import']);
  });

  it('fails undeclared, test-only-in-dependencies and unused dependencies', () => {
    const tree = goodTree();
    tree['packages/clinical/package.json'] = pkg(
      'clinical',
      { '@ecgcad/ecg': '0.1.0', 'csv-parse': '7' },
      { zod: '4' },
    );
    tree['packages/clinical/src/index.ts'] =
      "import type { LEADS } from '@ecgcad/ecg';\nimport { z } from 'zod';\nimport { parse } from 'csv-stringify';\n";
    tree['packages/clinical/src/index.test.ts'] =
      "import fc from 'fast-check';\nimport { it } from 'vitest';\nimport 'zod';\n";
    expect(rulesOf(fixture(tree))).toEqual([
      'packages/clinical/src/index.test.ts:1 undeclared-dependency',
      'packages/clinical/src/index.ts:2 undeclared-dependency',
      'packages/clinical/src/index.ts:3 undeclared-dependency',
      'packages/clinical/package.json unused-dependency',
    ]);
  });

  it('lets a build script outside src use devDependencies, and still fails an undeclared one', () => {
    const tree = goodTree();
    tree['packages/ecg/package.json'] = pkg('ecg', {}, { wabt: '1' });
    tree['packages/ecg/scripts/build-kernels.mjs'] = "import wabt from 'wabt';\nimport net from 'node:net';\n";
    tree['packages/ecg/dist/index.js'] = "import 'bullmq';\n";
    expect(rulesOf(fixture(tree))).toEqual([]);
    tree['packages/ecg/scripts/build-kernels.mjs'] = "import wabt from 'wabt';\nimport 'binaryen';\n";
    expect(rulesOf(fixture(tree))).toEqual(['packages/ecg/scripts/build-kernels.mjs:2 undeclared-dependency']);
  });

  it('as a command, exits 1 and names the file, line and rule of a deliberately bad import', async () => {
    const tree = goodTree();
    tree['packages/ingest/src/decode.ts'] = "import { Queue } from '@ecgcad/queue';\n";
    const root = fixture(tree);
    const script = join(repoRoot, 'scripts/check-structure.ts');
    const tsx = join(repoRoot, 'node_modules/.bin/tsx');
    const failed = await promisify(execFile)(tsx, [script, root]).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('packages/ingest/src/decode.ts:1  queue-import');
    const { stdout } = await promisify(execFile)(tsx, [script, fixture(goodTree())]);
    expect(stdout).toContain('structure check: 6 packages follow the layout rules');
  });
});
