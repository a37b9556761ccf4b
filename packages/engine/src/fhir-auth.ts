/**
 * Turns the `fhir` configuration into the FHIR client's auth. The SMART private key is read from its file here,
 * at start, so a missing or unreadable key stops the engine with a clear message instead of failing the first write.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@ecgcad/ecg';
import type { FhirAuth } from '@ecgcad/fhir-writer';
import type { EngineConfig } from './config.js';

/**
 * The FhirAuth the configuration names. `extraScopes` (the reads PTP needs) are requested beside the default
 * `system/*.write` when the configuration sets no scope of its own; a configured scope is used as written.
 */
export function fhirAuthFromConfig(
  fhir: EngineConfig['fhir'],
  options: { extraScopes?: readonly string[] } = {},
): FhirAuth {
  const defaultScope = options.extraScopes?.length ? ['system/*.write', ...options.extraScopes].join(' ') : undefined;
  const auth = fhir.auth ?? (fhir.bearerToken ? { type: 'bearer' as const } : { type: 'none' as const });
  switch (auth.type) {
    case 'none':
      return { type: 'none' };
    case 'bearer':
      if (!fhir.bearerToken) throw new ConfigError(['fhir.bearerToken: required with fhir.auth.type bearer']);
      return { type: 'bearer', token: fhir.bearerToken };
    case 'client-credentials':
      return {
        type: 'client-credentials',
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        ...(auth.scope ? { scope: auth.scope } : defaultScope ? { scope: defaultScope } : {}),
      };
    case 'smart-backend':
      return {
        type: 'smart-backend',
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        alg: auth.alg,
        privateKey: readPrivateKey(auth.privateKeyFile),
        ...(auth.kid ? { kid: auth.kid } : {}),
        ...(auth.scope ? { scope: auth.scope } : defaultScope ? { scope: defaultScope } : {}),
      };
  }
}

/** A PKCS#8 PEM string, or a private JWK when the file holds JSON. Never echoes the file's content. */
function readPrivateKey(file: string): string | Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError([`fhir.auth.privateKeyFile: cannot read ${file}`]);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof jwk.d !== 'string') throw new Error('no private part');
      return jwk;
    } catch {
      throw new ConfigError([`fhir.auth.privateKeyFile: ${file} is not a private JWK`]);
    }
  }
  if (!trimmed.includes('-----BEGIN PRIVATE KEY-----')) {
    throw new ConfigError([`fhir.auth.privateKeyFile: ${file} is neither a PKCS#8 PEM nor a private JWK`]);
  }
  return trimmed;
}
