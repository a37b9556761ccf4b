/**
 * The C-STORE SCP's settings from the engine configuration: reads the TLS files, passes the allow list, limits and
 * timers through, and says which of the security controls are off so the engine can warn about each at start.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@ecgcad/ecg';
import type { DimseFeedOptions, FeedCommonOptions } from '@ecgcad/ingest';
import type { EngineConfig } from './config.js';
import { isLoopbackHost } from './http-server.js';

/** What {@link dimseFeedSettings} returns. */
export interface DimseFeedSettings {
  /** The feed options, less intake, rejected store, logger and metrics hook. */
  options: Omit<DimseFeedOptions, keyof FeedCommonOptions>;
  /** One line per security control that is off (plain TCP, any calling AE, no client certificates). */
  warnings: string[];
}

/**
 * Builds the feed options. ConfigError for an unreadable certificate or key file (naming the key), and for plain
 * TCP on a non-loopback address without `dimse.allowInsecure`.
 */
export function dimseFeedSettings(dimse: EngineConfig['dimse']): DimseFeedSettings {
  const issues: string[] = [];
  const read = (key: string, file: string): Buffer | undefined => {
    try {
      return readFileSync(file);
    } catch {
      issues.push(`dimse.tls.${key}: cannot read ${file}`);
      return undefined;
    }
  };
  const warnings: string[] = [];
  let tls: DimseFeedOptions['tls'];
  if (dimse.tls) {
    const cert = read('certFile', dimse.tls.certFile);
    const key = read('keyFile', dimse.tls.keyFile);
    const ca = dimse.tls.caFile ? read('caFile', dimse.tls.caFile) : undefined;
    const verifyClient = dimse.tls.verifyClient ?? ca !== undefined;
    if (verifyClient && !dimse.tls.caFile) issues.push('dimse.tls.verifyClient: needs dimse.tls.caFile');
    if (cert && key) {
      tls = { cert, key, ...(ca ? { ca } : {}), verifyClient, minVersion: dimse.tls.minVersion };
    }
    if (!verifyClient) {
      warnings.push('DICOM TLS without client certificates: any host that reaches the port may associate');
    }
  } else if (!isLoopbackHost(dimse.host) && !dimse.allowInsecure) {
    issues.push(
      `dimse: plain TCP on ${dimse.host} (not loopback) would carry ECGs in clear; set dimse.tls (certFile, keyFile, ` +
        'caFile) or, on a closed network only, dimse.allowInsecure=true',
    );
  } else {
    warnings.push(
      'DICOM C-STORE SCP without TLS: ECGs (patient data) cross the network in clear; closed networks only (set dimse.tls)',
    );
  }
  const hasAllowList = dimse.allowedCallingAeTitles !== undefined || dimse.callingAeAddresses !== undefined;
  if (!hasAllowList) {
    warnings.push(
      'DICOM C-STORE SCP accepts any calling AE title (set dimse.allowedCallingAeTitles or dimse.callingAeAddresses)',
    );
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    options: {
      aeTitle: dimse.aeTitle,
      port: dimse.port,
      host: dimse.host,
      ...(tls ? { tls } : {}),
      ...(dimse.allowedCallingAeTitles ? { allowedCallingAeTitles: dimse.allowedCallingAeTitles } : {}),
      ...(dimse.callingAeAddresses ? { callingAeAddresses: dimse.callingAeAddresses } : {}),
      acceptAnyCallingAe: !hasAllowList,
      maxAssociationsPerSource: dimse.maxAssociationsPerSource,
      associationTimeoutMs: dimse.associationTimeoutMs,
      pduTimeoutMs: dimse.pduTimeoutMs,
    },
    warnings,
  };
}
