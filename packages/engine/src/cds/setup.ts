/**
 * The CDS Hooks routes' options from the engine configuration (`cds` section, docs/CDS-HOOKS.md): the trusted
 * clients, the audience base URL, the viewer's launch URL, and the engine's own FHIR client for the read fallback
 * (with read scopes added when the site configured no scope of its own).
 */
import { FhirClient } from '@ecgcad/fhir-writer';
import type { Registry } from 'prom-client';
import type { EngineConfig } from '../config.js';
import { fhirAuthFromConfig } from '../fhir-auth.js';
import type { Logger } from '../logger.js';
import { createClientAuthenticator, type ReplayStore } from './client-auth.js';
import { createCdsMetrics } from './metrics.js';
import type { CdsRoutesOptions } from './routes.js';

/** The SMART scopes the fallback reads need (added to the engine's default scope when CDS Hooks is on). */
export const CDS_READ_SCOPES = ['system/Observation.read', 'system/RiskAssessment.read'] as const;

/**
 * The routes' options. `listenUrl` is the server's own URL once it listens (used when neither cds.baseUrl nor
 * http.publicUrl is set); with `registry`, the CDS metrics are registered on it; `replays` is where seen JWT ids
 * are kept (default: this process's memory; queued mode passes Redis, so a replay to another process is caught).
 */
export function cdsRoutesOptionsFromConfig(
  config: EngineConfig,
  logger: Logger,
  listenUrl: () => string,
  registry?: Registry,
  replays?: ReplayStore,
): CdsRoutesOptions {
  const cds = config.cds;
  const baseUrl = (): string => (cds.baseUrl ?? config.http.publicUrl ?? listenUrl()).replace(/\/+$/, '');
  const engine = config.fhir.url
    ? {
        baseUrl: config.fhir.url,
        searcher: new FhirClient({
          baseUrl: config.fhir.url,
          timeoutMs: cds.fhirTimeoutMs,
          auth: fhirAuthFromConfig(config.fhir, { extraScopes: CDS_READ_SCOPES }),
        }),
      }
    : undefined;
  return {
    authenticate: createClientAuthenticator({
      clients: cds.clients,
      maxLifetimeS: cds.maxTokenLifetimeS,
      ...(replays ? { replays } : {}),
    }),
    baseUrl,
    appLaunchUrl: () => cds.appLaunchUrl ?? `${baseUrl()}/app/launch.html`,
    recentDays: cds.recentDays,
    maxCards: cds.maxCards,
    orderCodes: cds.orderCodes,
    data: {
      ...(engine ? { engine } : {}),
      allowedFhirServers: cds.fhirServers,
      timeoutMs: cds.fhirTimeoutMs,
    },
    corsOrigins: cds.corsOrigins,
    logger,
    ...(registry ? { metrics: createCdsMetrics(registry) } : {}),
  };
}
