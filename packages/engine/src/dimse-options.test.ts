import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { dimseFeedSettings } from './dimse-options.js';

const dir = mkdtempSync(join(tmpdir(), 'ecgcad-dimse-opts-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('dimseFeedSettings', () => {
  it('refuses plain TCP on a non-loopback address (the default 0.0.0.0) unless dimse.allowInsecure', () => {
    expect(() => dimseFeedSettings(loadConfig({ env: {} }).dimse)).toThrow(
      /dimse: plain TCP on 0\.0\.0\.0 \(not loopback\).*dimse\.allowInsecure=true/,
    );
    expect(() => dimseFeedSettings(loadConfig({ env: { ECGCAD_DIMSE_HOST: '10.1.2.3' } }).dimse)).toThrow(ConfigError);
    const allowed = dimseFeedSettings(loadConfig({ env: { ECGCAD_DIMSE_ALLOW_INSECURE: '1' } }).dimse);
    expect(allowed.options.host).toBe('0.0.0.0');
    expect(allowed.warnings[0]).toMatch(/without TLS/);
    for (const host of ['127.0.0.1', '::1', 'localhost', '[::1]']) {
      expect(dimseFeedSettings(loadConfig({ env: { ECGCAD_DIMSE_HOST: host } }).dimse).options.host).toBe(host);
    }
  });

  it('warns about plain TCP and an open calling-AE list on loopback', () => {
    const { options, warnings } = dimseFeedSettings(loadConfig({ env: { ECGCAD_DIMSE_HOST: '127.0.0.1' } }).dimse);
    expect(options.tls).toBeUndefined();
    expect(options.acceptAnyCallingAe).toBe(true);
    expect(options).toMatchObject({ maxAssociationsPerSource: 8, associationTimeoutMs: 30_000, pduTimeoutMs: 60_000 });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/without TLS/);
    expect(warnings[1]).toMatch(/any calling AE title/);
  });

  it('reads the TLS files, verifies clients when a CA is given, and passes the allow list bound to addresses', () => {
    const cert = file('server.pem', 'CERT');
    const key = file('server.key', 'KEY');
    const ca = file('ca.pem', 'CA');
    const config = loadConfig({
      env: {
        ECGCAD_DIMSE_TLS_CERT: cert,
        ECGCAD_DIMSE_TLS_KEY: key,
        ECGCAD_DIMSE_TLS_CA: ca,
        ECGCAD_DIMSE_ALLOWED_AE: 'CART1, MUSE',
      },
      overrides: [{ path: ['dimse', 'callingAeAddresses'], value: { CART2: ['10.1.0.0/16'] } }],
    });
    const { options, warnings } = dimseFeedSettings(config.dimse);
    expect(warnings).toEqual([]);
    expect(options.tls).toEqual({
      cert: Buffer.from('CERT'),
      key: Buffer.from('KEY'),
      ca: Buffer.from('CA'),
      verifyClient: true,
      minVersion: 'TLSv1.2',
    });
    expect(options.allowedCallingAeTitles).toEqual(['CART1', 'MUSE']);
    expect(options.callingAeAddresses).toEqual({ CART2: ['10.1.0.0/16'] });
    expect(options.acceptAnyCallingAe).toBe(false);
  });

  it('warns about TLS without client certificates and refuses unreadable files or verification without a CA', () => {
    const cert = file('server2.pem', 'CERT');
    const key = file('server2.key', 'KEY');
    const dimse = (tls: object) =>
      loadConfig({ env: {}, overrides: [{ path: ['dimse'], value: { tls, allowedCallingAeTitles: ['CART1'] } }] })
        .dimse;
    expect(dimseFeedSettings(dimse({ certFile: cert, keyFile: key })).warnings).toEqual([
      expect.stringMatching(/without client certificates/),
    ]);
    expect(() => dimseFeedSettings(dimse({ certFile: join(dir, 'missing.pem'), keyFile: key }))).toThrow(
      /dimse\.tls\.certFile: cannot read/,
    );
    expect(() => dimseFeedSettings(dimse({ certFile: cert, keyFile: key, verifyClient: true }))).toThrow(ConfigError);
    expect(() =>
      loadConfig({ env: {}, overrides: [{ path: ['dimse', 'allowedCallingAeTitles'], value: ['A\\B'] }] }),
    ).toThrow(/dimse\.allowedCallingAeTitles\.0/);
  });
});
