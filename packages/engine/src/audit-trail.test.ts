import { ConfigError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { auditSinkFromConfig, senderOf } from './audit-trail.js';
import { loadConfig } from './config.js';

describe('senderOf', () => {
  const at = '2026-01-01T00:00:00.000Z';
  it('C-STORE: the calling AE title and the peer address', () => {
    expect(senderOf({ feed: 'cstore', receivedAt: at, remote: 'CART7', peer: '10.0.0.7' })).toEqual({
      aeTitle: 'CART7',
      address: '10.0.0.7',
    });
  });
  it('HTTP and STOW: the address and the API key id or certificate subject', () => {
    expect(senderOf({ feed: 'http', receivedAt: at, remote: '10.0.0.8', principal: 'api-key:0123456789ab' })).toEqual({
      address: '10.0.0.8',
      apiKeyId: '0123456789ab',
    });
    expect(senderOf({ feed: 'stow', receivedAt: at, remote: '10.0.0.9', principal: 'cert:gateway' })).toEqual({
      address: '10.0.0.9',
      certSubject: 'gateway',
    });
  });
  it('folder: the drop folder, never the file name (a file name may hold a patient name)', () => {
    expect(senderOf({ feed: 'folder', receivedAt: at, name: 'DOE_JOHN.xml' }, '/data/drop')).toEqual({
      folder: '/data/drop',
    });
  });
});

describe('auditSinkFromConfig', () => {
  const config = (audit: Record<string, unknown>, fhirUrl?: string) =>
    loadConfig({
      env: {},
      overrides: [
        { path: ['audit'], value: audit },
        { path: ['fhir', 'url'], value: fhirUrl },
      ],
    });
  it('file by default, fhir to the audit URL or the EHR, none', () => {
    expect(auditSinkFromConfig(loadConfig({ env: {} }))?.name).toBe('file');
    expect(auditSinkFromConfig(config({ sink: 'fhir' }, 'https://ehr.example.org/fhir'))?.name).toBe('fhir');
    expect(auditSinkFromConfig(config({ sink: 'fhir', fhirUrl: 'https://arr.example.org/fhir' }))?.name).toBe('fhir');
    expect(auditSinkFromConfig(config({ sink: 'none' }))).toBeUndefined();
  });
  it('takes the sink from the environment', () => {
    const env = {
      ECGCAD_AUDIT_SINK: 'fhir',
      ECGCAD_AUDIT_FHIR_URL: 'https://arr.example.org/fhir',
      ECGCAD_AUDIT_FILE: '/var/audit/a.jsonl',
    };
    expect(loadConfig({ env }).audit).toMatchObject({
      sink: 'fhir',
      fhirUrl: 'https://arr.example.org/fhir',
      file: '/var/audit/a.jsonl',
    });
  });

  it('refuses a fhir sink without a URL', () => {
    expect(() => auditSinkFromConfig(config({ sink: 'fhir' }))).toThrow(ConfigError);
  });
});
