/**
 * `node --import ./test/support/load-recorder.mjs ...` records every module the process loads, one URL or path a
 * line, in the file named by ECGCAD_LOAD_LOG: ES modules through a resolve hook (registered on Node's loader
 * thread, which appends as it resolves), CommonJS modules from require.cache when the process exits.
 * test/module-graph.test.ts uses it to prove which entry points never load BullMQ or ioredis.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.ECGCAD_LOAD_LOG;
if (!log) throw new Error('load-recorder: set ECGCAD_LOAD_LOG to the file to write');

register(
  `data:text/javascript,${encodeURIComponent(`
    import { appendFileSync } from 'node:fs';
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
      return resolved;
    }`)}`,
);

const require = createRequire(import.meta.url);
process.on('exit', () => {
  const paths = Object.keys(require.cache);
  if (paths.length > 0) appendFileSync(log, `${paths.join('\n')}\n`);
});
