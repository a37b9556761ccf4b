import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CommandField,
  type DimseMessage,
  DimseProtocolError,
  DimseStreamReader,
  encodeResponsePdu,
  PduType,
  readCommandSet,
} from './dimse-pdata.js';

const STORE_CLASS = '1.2.840.10008.5.1.4.1.1.9.1.1';

/** An Implicit VR Little Endian command set from (element, value) pairs of group 0000. */
function commandSet(elements: [number, Buffer][]): Buffer {
  const parts = elements.map(([element, value]) => {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(0, 0);
    head.writeUInt16LE(element, 2);
    head.writeUInt32LE(value.length, 4);
    return Buffer.concat([head, value]);
  });
  return Buffer.concat(parts);
}
const us = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const ui = (s: string) => Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');

/** A P-DATA-TF PDU with the given PDV items. */
function pdataPdu(items: { context: number; command: boolean; last: boolean; value: Buffer }[]): Buffer {
  const bodies = items.map(({ context, command, last, value }) => {
    const head = Buffer.alloc(6);
    head.writeUInt32BE(2 + value.length, 0);
    head[4] = context;
    head[5] = (command ? 1 : 0) | (last ? 2 : 0);
    return Buffer.concat([head, value]);
  });
  const body = Buffer.concat(bodies);
  const head = Buffer.alloc(6);
  head[0] = PduType.PDataTf;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

const storeCommand = commandSet([
  [0x0002, ui(STORE_CLASS)],
  [0x0100, us(CommandField.CStoreRq)],
  [0x0110, us(7)],
  [0x0700, us(0)],
  [0x0800, us(0x0000)],
  [0x1000, ui('1.2.3.4.5')],
]);

/** Feeds `stream` to a fresh reader in chunks of `cut` bytes; returns what it handed on. */
function read(stream: Buffer, cut = stream.length, maxDatasetBytes = 1 << 20) {
  const pdus: Buffer[] = [];
  const messages: DimseMessage[] = [];
  const reader = new DimseStreamReader(maxDatasetBytes, {
    onPdu: (p) => pdus.push(p),
    onMessage: (m) => messages.push(m),
  });
  for (let at = 0; at < stream.length; at += cut) reader.push(stream.subarray(at, at + cut));
  return { pdus, messages };
}

describe('DimseStreamReader', () => {
  const part1 = Buffer.alloc(600, 1);
  const part2 = Buffer.alloc(400, 2);
  const release = Buffer.from([PduType.ReleaseRq, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
  const stream = Buffer.concat([
    pdataPdu([{ context: 3, command: true, last: true, value: storeCommand }]),
    pdataPdu([{ context: 3, command: false, last: false, value: part1 }]),
    pdataPdu([{ context: 3, command: false, last: true, value: part2 }]),
    release,
  ]);

  it('reads a C-STORE (command, then data set fragments over PDUs) and hands other PDUs on whole, however cut', () => {
    for (const cut of [1, 3, 6, 7, 100, 1013, stream.length]) {
      const { pdus, messages } = read(stream, cut);
      expect(pdus.map((p) => p.toString('hex'))).toEqual([release.toString('hex')]);
      expect(messages).toHaveLength(1);
      expect(messages[0]?.command).toEqual({
        presentationContextId: 3,
        commandField: CommandField.CStoreRq,
        messageId: 7,
        sopClassUid: STORE_CLASS,
        sopInstanceUid: '1.2.3.4.5',
        hasDataset: true,
      });
      expect(Buffer.concat(messages[0]?.dataset ?? [])).toEqual(Buffer.concat([part1, part2]));
      expect(messages[0]).toMatchObject({ datasetBytes: 1000, overLimit: false });
      // Hashed as the fragments came, however the chunks cut them: the data set's own SHA-256.
      expect(messages[0]?.datasetSha256).toBe(
        createHash('sha256')
          .update(Buffer.concat([part1, part2]))
          .digest('hex'),
      );
    }
  });

  it('keeps data set fragments as views of the received chunks (no copy)', () => {
    const { messages } = read(stream);
    expect(messages[0]?.dataset.every((f) => f.buffer === stream.buffer)).toBe(true);
  });

  it('completes a command without a data set (C-ECHO) at once; several PDV items in one PDU', () => {
    const echo = commandSet([
      [0x0002, ui('1.2.840.10008.1.1')],
      [0x0100, us(CommandField.CEchoRq)],
      [0x0110, us(1)],
      [0x0800, us(0x0101)],
    ]);
    const { messages } = read(
      pdataPdu([
        { context: 1, command: true, last: false, value: echo.subarray(0, 10) },
        { context: 1, command: true, last: true, value: echo.subarray(10) },
      ]),
      5,
    );
    expect(messages[0]?.command).toMatchObject({ commandField: CommandField.CEchoRq, messageId: 1, hasDataset: false });
  });

  it('drops a data set past the limit as it comes, and says so; hashes each message afresh', () => {
    const { messages } = read(stream, 64, 500);
    expect(messages[0]).toMatchObject({ dataset: [], datasetBytes: 1000, overLimit: true });
    expect(messages[0]).not.toHaveProperty('datasetSha256');
    // Each message is hashed afresh: two equal data sets in a row get one hash.
    const both = read(Buffer.concat([stream, stream]), 64);
    expect(both.messages[1]?.datasetSha256).toBe(both.messages[0]?.datasetSha256);
  });

  it('refuses broken streams: data before a command, a bad item length, a command set without its fields', () => {
    expect(() => read(pdataPdu([{ context: 1, command: false, last: true, value: Buffer.alloc(4) }]))).toThrow(
      DimseProtocolError,
    );
    const bad = pdataPdu([{ context: 1, command: true, last: true, value: storeCommand }]);
    bad.writeUInt32BE(bad.length, 6);
    expect(() => read(bad)).toThrow(DimseProtocolError);
    expect(() => readCommandSet(commandSet([[0x0110, us(1)]]), 1)).toThrow(DimseProtocolError);
    const other = Buffer.concat([
      pdataPdu([{ context: 1, command: true, last: true, value: storeCommand }]),
      pdataPdu([{ context: 2, command: false, last: true, value: Buffer.alloc(4) }]),
    ]);
    expect(() => read(other)).toThrow(DimseProtocolError);
  });

  it('asks before each P-DATA-TF PDU (the SCP refuses them before the association is accepted)', () => {
    const reader = new DimseStreamReader(100, {
      onPdu: () => {},
      onMessage: () => {},
      onPData: () => {
        throw new DimseProtocolError('not yet');
      },
    });
    expect(() => reader.push(stream)).toThrow('not yet');
  });
});

describe('encodeResponsePdu', () => {
  it('writes a C-STORE-RSP that reads back, group length and padding included', () => {
    const pdu = encodeResponsePdu(5, {
      commandField: CommandField.CStoreRsp,
      messageIdBeingRespondedTo: 7,
      status: 0xc000,
      sopClassUid: STORE_CLASS,
      sopInstanceUid: '1.2.3.4.5',
      errorComment: 'odd',
    });
    expect(pdu[0]).toBe(PduType.PDataTf);
    expect(pdu.readUInt32BE(2)).toBe(pdu.length - 6);
    expect(pdu.readUInt32BE(6)).toBe(pdu.length - 10);
    expect([pdu[10], pdu[11]]).toEqual([5, 0x03]);
    const command = pdu.subarray(12);
    // (0000,0000) UL: the bytes after it.
    expect(command.readUInt32LE(8)).toBe(command.length - 12);
    expect(readCommandSet(command, 5)).toEqual({
      presentationContextId: 5,
      commandField: CommandField.CStoreRsp,
      messageId: 0,
      sopClassUid: STORE_CLASS,
      sopInstanceUid: '1.2.3.4.5',
      hasDataset: false,
    });
    // ErrorComment padded to even length with a space; status as given.
    expect(command.includes(Buffer.from('odd '))).toBe(true);
    const status = command.indexOf(Buffer.from([0x00, 0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00]));
    expect(command.readUInt16LE(status + 8)).toBe(0xc000);
  });
});
