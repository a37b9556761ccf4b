/**
 * Builds the app into dist/: the TypeScript entry points bundled by esbuild (everything the browser runs comes from
 * this folder: no file is fetched from the internet at run time) and the static pages and styles copied beside them.
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: { app: join(root, 'src/main.ts'), launch: join(root, 'src/launch.ts') },
  outdir: dist,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
// The engine finds dist/ through this module (@ecgcad/app/dist-dir); it runs on Node, so no bundling.
await build({
  entryPoints: { 'dist-dir': join(root, 'src/dist-dir.ts') },
  outdir: dist,
  format: 'esm',
  platform: 'neutral',
  logLevel: 'warning',
});
// static/page.css is the pages' own style; app.css is what esbuild bundles from the imports (the viewer's).
cpSync(join(root, 'static'), dist, { recursive: true });
