/**
 * Serves the ecgcad app (@ecgcad/app, built into its dist/) at /app/, and /app/config.json with what its
 * standalone launch needs (client id, scope, FHIR base) from the config's `app` section. The pages are public:
 * the app signs in to the EHR itself (SMART App Launch) and the engine holds no session. A Content-Security-Policy
 * lets scripts come only from this origin, and the app talks only to this origin and the EHR.
 *   GET /app               302 to /app/
 *   GET /app/              index.html (the SMART redirect URI)
 *   GET /app/launch.html   the SMART launch URL
 *   GET /app/config.json   { clientId, scope, fhirBaseUrl }
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_DIST_URL } from '@ecgcad/app/dist-dir';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EngineConfig } from './config.js';

/** Options of {@link appRoutes}. */
export interface AppRoutesOptions {
  clientId: string;
  scope: string;
  /** FHIR base for a standalone launch; without it only EHR launches work. */
  fhirBaseUrl?: string;
  /** Origins the app may call besides this one and https: (an http:// test EHR). */
  connectSrc?: string[];
  /** CSP frame-ancestors (EHRs that embed the app); absent: any. */
  frameAncestors?: string[];
  /** The built app; default @ecgcad/app's dist/. */
  distDir?: string;
}

/** Files the routes never serve (the engine's own locator module). */
const NOT_SERVED = new Set(['dist-dir.js']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The route options from the engine config, or undefined when the app is off. */
export function appRouteOptions(config: Pick<EngineConfig, 'app' | 'fhir'>): AppRoutesOptions | undefined {
  if (!config.app.enabled) return undefined;
  const fhirBaseUrl = config.app.fhirBaseUrl ?? config.fhir.url;
  return {
    clientId: config.app.clientId,
    scope: config.app.scope,
    ...(fhirBaseUrl ? { fhirBaseUrl } : {}),
    connectSrc: config.app.connectSrc,
    ...(config.app.frameAncestors ? { frameAncestors: config.app.frameAncestors } : {}),
  };
}

/** The Content-Security-Policy of the app's pages. */
export function appCsp(options: AppRoutesOptions): string {
  const connect = new Set(["'self'", 'https:']);
  for (const url of [options.fhirBaseUrl, ...(options.connectSrc ?? [])]) {
    if (url) connect.add(new URL(url).origin);
  }
  return [
    "default-src 'none'",
    "script-src 'self'",
    // Inline styles stay allowed (the viewer sizes its SVG paper with them); scripts come from this origin only.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${[...connect].join(' ')}`,
    "base-uri 'none'",
    "form-action 'self'",
    ...(options.frameAncestors ? [`frame-ancestors ${options.frameAncestors.join(' ') || "'none'"}`] : []),
  ].join('; ');
}

/**
 * Reads the built app into memory (a few hundred kB). Undefined when it was not built (an engine run from source
 * without `npm run build`): the engine still starts, and /app/ says so.
 */
function readDist(dir: string): Map<string, Buffer> | undefined {
  const files = new Map<string, Buffer>();
  if (!existsSync(dir)) return undefined;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (NOT_SERVED.has(name) || !statSync(path).isFile()) continue;
    files.set(name, readFileSync(path));
  }
  return files.has('index.html') && files.has('launch.html') ? files : undefined;
}

/** Registers /app/* on a fastify instance (one line in ops.ts). */
export async function appRoutes(app: FastifyInstance, options: AppRoutesOptions): Promise<void> {
  const files = readDist(options.distDir ?? fileURLToPath(APP_DIST_URL));
  const csp = appCsp(options);
  const config = JSON.stringify({
    clientId: options.clientId,
    scope: options.scope,
    ...(options.fhirBaseUrl ? { fhirBaseUrl: options.fhirBaseUrl } : {}),
  });
  const common = (reply: FastifyReply, type: string, cache: string): FastifyReply =>
    reply
      .header('content-type', type)
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      // The SMART code and state arrive in /app/index.html's query: no page may pass them on as a Referer.
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', cache);

  app.get('/app', async (_request, reply) => reply.redirect('/app/', 302));
  if (!files) {
    const notBuilt = async (_request: unknown, reply: FastifyReply) =>
      reply
        .code(503)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('The ecgcad app is not built (npm run build).');
    app.get('/app/', notBuilt);
    app.get('/app/*', notBuilt);
    return;
  }
  app.get('/app/config.json', async (_request, reply) =>
    common(reply, TYPES['.json'] as string, 'no-store').send(config),
  );
  app.get<{ Params: { file?: string } }>('/app/:file', async (request, reply) => {
    const name = request.params.file || 'index.html';
    const body = files.get(name);
    if (!body) return reply.code(404).send({ status: 'not found' });
    const type = TYPES[extname(name)] ?? 'application/octet-stream';
    return common(reply, type, name.endsWith('.html') ? 'no-cache' : 'public, max-age=300').send(body);
  });
  app.get('/app/', async (_request, reply) =>
    common(reply, TYPES['.html'] as string, 'no-cache').send(files.get('index.html')),
  );
}
