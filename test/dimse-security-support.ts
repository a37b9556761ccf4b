/**
 * Pieces of the DICOM security tests: a throw-away PKI made with the openssl CLI (a CA, a server certificate, client
 * certificates good, untrusted and expired) and a raw DICOM upper-layer peer for the timer and limit tests.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** File paths (in `dir`) of the test PKI. */
export interface TestPki {
  dir: string;
  caPem: string;
  serverKey: string;
  serverPem: string;
  clientKey: string;
  clientPem: string;
  /** Signed by a CA the server does not trust. */
  rogueKey: string;
  roguePem: string;
  /** Signed by the trusted CA, valid 2020-01-01 to 2020-01-02. */
  expiredKey: string;
  expiredPem: string;
}

/** Makes the CA and certificates with openssl (RSA 2048, SHA-256). */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const newCa = async (name: string) =>
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  const csr = async (name: string) =>
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ]);
  const sign = async (name: string, ca: string, ext: string) => {
    await writeFile(join(dir, `${name}.ext`), ext);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    ]);
  };
  await newCa('ca');
  await newCa('rogue-ca');
  for (const name of ['server', 'client', 'rogue', 'expired']) await csr(name);
  await sign('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await sign('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  await sign('rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  // `openssl x509` cannot back-date; `openssl ca` can (-startdate/-enddate).
  await writeFile(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca=t\n[t]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n',
  );
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.pem',
    '-keyfile',
    'ca.key',
    '-in',
    'expired.csr',
    '-out',
    'expired.pem',
    '-notext',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
  ]);
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caPem: p('ca.pem'),
    serverKey: p('server.key'),
    serverPem: p('server.pem'),
    clientKey: p('client.key'),
    clientPem: p('client.pem'),
    rogueKey: p('rogue.key'),
    roguePem: p('rogue.pem'),
    expiredKey: p('expired.key'),
    expiredPem: p('expired.pem'),
  };
}

/** Reads a PKI file. */
export const pem = (path: string): Promise<Buffer> => readFile(path);

function item(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function aeField(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'ascii');
}

/** An A-ASSOCIATE-RQ (PS3.8 9.3.2) proposing Verification in Implicit VR Little Endian. */
export function associateRequest(calling: string, called: string): Buffer {
  const appContext = item(0x10, Buffer.from('1.2.840.10008.3.1.1.1', 'ascii'));
  const presentation = item(
    0x20,
    Buffer.concat([
      Buffer.from([1, 0, 0, 0]),
      item(0x30, Buffer.from('1.2.840.10008.1.1', 'ascii')),
      item(0x40, Buffer.from('1.2.840.10008.1.2', 'ascii')),
    ]),
  );
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(16384);
  const userInfo = item(0x50, item(0x51, maxLength));
  const fixed = Buffer.concat([Buffer.from([0, 1, 0, 0]), aeField(called), aeField(calling), Buffer.alloc(32)]);
  const body = Buffer.concat([fixed, appContext, presentation, userInfo]);
  const head = Buffer.alloc(6);
  head[0] = 0x01;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

/** A raw upper-layer peer: the PDU types it received, and when it was closed. */
export interface RawPeer {
  socket: Socket;
  /** Types of the PDUs received so far (0x02 A-ASSOCIATE-AC, 0x03 -RJ, 0x07 A-ABORT...). */
  pduTypes: number[];
  /** The bytes of the first A-ASSOCIATE-RJ, if any: [result, source, reason]. */
  reject?: [number, number, number];
  /** Resolves with the milliseconds from connect to close. */
  closed: Promise<number>;
  /** Resolves once a PDU of this type arrived (or the socket closed: then false). */
  waitFor(type: number): Promise<boolean>;
}

/** Connects a raw peer; `onConnect` writes whatever the test wants. */
export function rawPeer(port: number, onConnect: (socket: Socket) => void = () => {}): RawPeer {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const started = Date.now();
  const peer: RawPeer = {
    socket,
    pduTypes: [],
    closed: new Promise((resolve) => socket.on('close', () => resolve(Date.now() - started))),
    waitFor: (type) =>
      new Promise((resolve) => {
        const check = () => {
          if (peer.pduTypes.includes(type)) return resolve(true);
          if (socket.destroyed) return resolve(false);
          setTimeout(check, 20);
        };
        check();
      }),
  };
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 6) {
      const length = buffered.readUInt32BE(2);
      if (buffered.length < 6 + length) break;
      const type = buffered[0] as number;
      if (type === 0x03 && !peer.reject) peer.reject = [buffered[7]!, buffered[8]!, buffered[9]!];
      peer.pduTypes.push(type);
      buffered = buffered.subarray(6 + length);
    }
  });
  socket.on('error', () => {});
  socket.on('connect', () => onConnect(socket));
  return peer;
}
