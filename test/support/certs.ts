/**
 * Certificates made by a test with openssl: a CA, a server certificate for localhost / 127.0.0.1, a client
 * certificate the CA signed, and an untrusted client certificate from another CA. All in a fresh temp folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of the PEM files. */
export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by a CA the server does not trust. */
  rogueCert: string;
  rogueKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function selfSignedCa(dir: string, name: string): void {
  openssl(
    dir,
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`].concat([
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    ]),
  );
}

function signed(dir: string, name: string, cn: string, ca: string, ext: string): void {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    dir,
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial'].concat([
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    ]),
  );
}

/** Makes the set (about a second of openssl). `serverIps`: more addresses the server certificate names. */
export function makeTestCertificates(serverIps: string[] = []): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'ecgcad-certs-'));
  selfSignedCa(dir, 'ca');
  selfSignedCa(dir, 'rogue-ca');
  signed(
    dir,
    'server',
    'localhost',
    'ca',
    `subjectAltName=DNS:localhost,IP:127.0.0.1${serverIps.map((ip) => `,IP:${ip}`).join('')}\nextendedKeyUsage=serverAuth\n`,
  );
  signed(dir, 'client', 'modality-1', 'ca', 'extendedKeyUsage=clientAuth\n');
  signed(dir, 'rogue', 'modality-1', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caCert: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    rogueCert: at('rogue.crt'),
    rogueKey: at('rogue.key'),
  };
}
