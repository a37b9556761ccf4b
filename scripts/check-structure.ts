/**
 * The structure check run by `npm run lint`: fails when a package imports across the rules the layout follows
 * (CONTRIBUTING.md, "Structure rules"):
 * - the stages (ingest, infer, fhir-writer) never import each other;
 * - the kernel (@ecgcad/ecg) imports no other workspace package, no queue or Redis client and no network code;
 * - @ecgcad/clinical, a shared library, imports no workspace package but @ecgcad/ecg;
 * - @ecgcad/queue imports no workspace package but @ecgcad/ecg, and only worker files (packages/<stage>/src/worker.ts,
 *   the ingest queued intake) and the engine import it;
 * - nothing imports @ecgcad/engine;
 * - a relative import stays inside its own package (unit tests may also reach test/support);
 * - every package declares exactly what its sources import: run-time imports in `dependencies`, test-only and
 *   build-time ones (files outside src, such as a build script) in `devDependencies` (or the root's, for shared
 *   tools), and no dependency that nothing imports at run time.
 * Imports are read with TypeScript's own pre-processor (static, type-only, re-exports, dynamic import(), require()).
 * Usage: `tsx scripts/check-structure.ts [root]`; exits 1 and prints one line per violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One broken rule, with where it is broken. */
export interface Violation {
  /** File path relative to the root, or the package.json the rule is about. */
  file: string;
  /** 1-based line of the import, where the violation is an import. */
  line?: number;
  rule: string;
  message: string;
}

/** The stage packages: each may import @ecgcad/ecg, @ecgcad/clinical and (in worker files) @ecgcad/queue. */
export const STAGES = ['ingest', 'infer', 'fhir-writer'] as const;

/** Modules the kernel must never import: queue and Redis clients, servers and network I/O. */
const KERNEL_FORBIDDEN = new Set([
  'bullmq',
  'ioredis',
  'redis',
  'fastify',
  'undici',
  'dcmjs-dimse',
  'http',
  'https',
  'http2',
  'net',
  'tls',
  'dgram',
  'dns',
]);

/** Files outside the engine that may import @ecgcad/queue (paths relative to the package's src). */
const QUEUE_IMPORTERS = new Set(['worker.ts', 'worker.test.ts', 'queued-intake.ts', 'queued-intake.test.ts']);

interface WorkspacePackage {
  /** Folder name under packages/ (`fhir-writer`). */
  dir: string;
  /** npm name (`@ecgcad/fhir-writer`). */
  name: string;
  dependencies: Set<string>;
  devDependencies: Set<string>;
}

interface ImportRef {
  specifier: string;
  line: number;
}

/** The import specifiers of a TypeScript source, with their lines. */
export function importsOf(source: string): ImportRef[] {
  const info = ts.preProcessFile(source, true, true);
  const newlines: number[] = [];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) newlines.push(i);
  const lineOf = (pos: number): number => 1 + newlines.filter((n) => n < pos).length;
  const refs = info.importedFiles.map((ref) => ({ specifier: ref.fileName, line: lineOf(ref.pos) }));
  // `createRequire(import.meta.url)('x')`, which the pre-processor does not see.
  for (const match of source.matchAll(/createRequire\([^)]*\)\(\s*['"]([^'"]+)['"]\s*\)/g))
    refs.push({ specifier: match[1]!, line: lineOf(match.index ?? 0) });
  return refs;
}

/** The npm package a bare specifier names (`@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`). */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function keys(value: unknown): Set<string> {
  return new Set(value && typeof value === 'object' ? Object.keys(value) : []);
}

/** Build output and installed packages are not sources. */
const SKIPPED_DIRS = new Set(['dist', 'node_modules']);

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (!SKIPPED_DIRS.has(entry)) out.push(...sourceFiles(path));
    } else if (/\.(ts|mts|cts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

function workspacePackages(root: string): WorkspacePackage[] {
  const packagesDir = join(root, 'packages');
  return readdirSync(packagesDir)
    .filter((dir) => existsSync(join(packagesDir, dir, 'package.json')))
    .sort()
    .map((dir) => {
      const json = readJson(join(packagesDir, dir, 'package.json'));
      return {
        dir,
        name: String(json.name),
        dependencies: keys(json.dependencies),
        devDependencies: keys(json.devDependencies),
      };
    });
}

const isTestFile = (path: string): boolean => /\.test\.[cm]?[jt]s$/.test(path);

/** Checks the workspace under `root` and returns every violation (empty when the layout holds). */
export function checkStructure(root: string): Violation[] {
  const violations: Violation[] = [];
  const packages = workspacePackages(root);
  const byName = new Map(packages.map((p) => [p.name, p]));
  const rootDevDependencies = keys(readJson(join(root, 'package.json')).devDependencies);

  for (const pkg of packages) {
    const pkgDir = join(root, 'packages', pkg.dir);
    const srcDir = join(pkgDir, 'src');
    const used = new Set<string>();
    for (const path of sourceFiles(pkgDir)) {
      const file = relative(root, path).split(sep).join('/');
      const inSrc = relative(srcDir, path).split(sep).join('/');
      // Files outside src (build scripts) run at build time only: they may use devDependencies, and the layout
      // rules, which are about what the package ships, do not apply to them.
      const tooling = inSrc.startsWith('..');
      const test = isTestFile(path);
      const devOnly = test || tooling;
      const report = (line: number, rule: string, message: string): void => {
        violations.push({ file, line, rule, message });
      };
      for (const { specifier, line } of importsOf(readFileSync(path, 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(path), specifier);
          const inPackage = !relative(pkgDir, target).startsWith('..');
          const inTestSupport = test && !relative(join(root, 'test', 'support'), target).startsWith('..');
          if (!inPackage && !inTestSupport)
            report(line, 'relative-import', `'${specifier}' reaches outside packages/${pkg.dir}`);
          continue;
        }
        const bare = specifier.startsWith('node:') ? specifier.slice('node:'.length) : specifier;
        const builtin = specifier.startsWith('node:') || isBuiltin(specifier);
        const name = builtin ? bare.split('/')[0]! : packageOf(specifier);
        const target = byName.get(name);

        if (!tooling && pkg.dir === 'ecg' && KERNEL_FORBIDDEN.has(name))
          report(line, 'kernel-infrastructure', `the kernel imports '${specifier}' (no queue, Redis or network code)`);
        if (!tooling && target && target !== pkg) {
          if (target.dir === 'engine')
            report(line, 'engine-import', `imports ${target.name}: nothing imports the engine`);
          else if (pkg.dir === 'ecg') report(line, 'kernel-imports-workspace', `the kernel imports ${target.name}`);
          else if ((pkg.dir === 'clinical' || pkg.dir === 'queue') && target.dir !== 'ecg')
            report(line, `${pkg.dir}-imports`, `${pkg.name} may import only @ecgcad/ecg, not ${target.name}`);
          else if (
            (STAGES as readonly string[]).includes(pkg.dir) &&
            (STAGES as readonly string[]).includes(target.dir)
          )
            report(line, 'stage-imports-stage', `stage ${pkg.name} imports stage ${target.name}`);
          if (target.dir === 'queue' && pkg.dir !== 'engine' && !QUEUE_IMPORTERS.has(inSrc))
            report(line, 'queue-import', `imports @ecgcad/queue: only worker files and the engine may`);
        }
        if (builtin || name === pkg.name) continue;
        if (!devOnly) used.add(name);
        const declared = devOnly
          ? pkg.dependencies.has(name) || pkg.devDependencies.has(name) || rootDevDependencies.has(name)
          : pkg.dependencies.has(name);
        if (!declared) {
          const where = !devOnly && pkg.devDependencies.has(name) ? ' (it is only a devDependency)' : '';
          report(line, 'undeclared-dependency', `imports '${name}', not in ${pkg.name}'s dependencies${where}`);
        }
      }
    }
    for (const name of pkg.dependencies) {
      if (!used.has(name))
        violations.push({
          file: `packages/${pkg.dir}/package.json`,
          rule: 'unused-dependency',
          message: `${pkg.name} depends on '${name}' but no source file imports it (test-only: devDependencies)`,
        });
    }
  }
  return violations;
}

/** One line per violation, `file:line  rule  message`. */
export function formatViolation(v: Violation): string {
  return `${v.file}${v.line === undefined ? '' : `:${v.line}`}  ${v.rule}  ${v.message}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
  const violations = checkStructure(root);
  for (const v of violations) process.stderr.write(`${formatViolation(v)}\n`);
  if (violations.length > 0) {
    process.stderr.write(`structure check: ${violations.length} violation(s); the rules are in CONTRIBUTING.md\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`structure check: ${workspacePackages(root).length} packages follow the layout rules\n`);
  }
}
