import { describe, expect, it } from 'vitest';
import {
  CommandField,
  DimseAssembler,
  DimseProtocolError,
  encodeResponsePdu,
  PduFramer,
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

describe('PduFramer', () => {
  it('hands on whole PDUs however the stream is cut, as views when a PDU lies in one chunk', () => {
    const pdus = [pdataPdu([{ context: 1, command: true, last: true, value: storeCommand }])];
    pdus.push(pdataPdu([{ context: 1, command: false, last: true, value: Buffer.alloc(1000, 7) }]));
    pdus.push(Buffer.from([PduType.ReleaseRq, 0, 0, 0, 0, 4, 0, 0, 0, 0]));
    const stream = Buffer.concat(pdus);
    for (const cut of [1, 3, 6, 7, 100, 1013, stream.length]) {
      const framer = new PduFramer();
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += cut) framer.push(stream.subarray(at, at + cut), (p) => out.push(p));
      expect(out.map((p) => p.toString('hex'))).toEqual(pdus.map((p) => p.toString('hex')));
    }
    const framer = new PduFramer();
    const out: Buffer[] = [];
    framer.push(stream, (p) => out.push(p));
    expect(out[1]?.buffer).toBe(stream.buffer);
  });
});

describe('DimseAssembler', () => {
  it('reads a C-STORE: command, then data set fragments over several PDUs, kept as views', () => {
    const assembler = new DimseAssembler(1 << 20);
    expect(assembler.push(pdataPdu([{ context: 3, command: true, last: true, value: storeCommand }]))).toEqual([]);
    const part1 = Buffer.alloc(600, 1);
    const part2 = Buffer.alloc(400, 2);
    expect(assembler.push(pdataPdu([{ context: 3, command: false, last: false, value: part1 }]))).toEqual([]);
    const [message] = assembler.push(pdataPdu([{ context: 3, command: false, last: true, value: part2 }]));
    expect(message?.command).toEqual({
      presentationContextId: 3,
      commandField: CommandField.CStoreRq,
      messageId: 7,
      sopClassUid: STORE_CLASS,
      sopInstanceUid: '1.2.3.4.5',
      hasDataset: true,
    });
    expect(Buffer.concat(message?.dataset ?? [])).toEqual(Buffer.concat([part1, part2]));
    expect(message).toMatchObject({ datasetBytes: 1000, overLimit: false });
  });

  it('completes a command without a data set (C-ECHO) at once', () => {
    const echo = commandSet([
      [0x0002, ui('1.2.840.10008.1.1')],
      [0x0100, us(CommandField.CEchoRq)],
      [0x0110, us(1)],
      [0x0800, us(0x0101)],
    ]);
    const [message] = new DimseAssembler(100).push(pdataPdu([{ context: 1, command: true, last: true, value: echo }]));
    expect(message?.command).toMatchObject({ commandField: CommandField.CEchoRq, messageId: 1, hasDataset: false });
  });

  it('drops a data set past the limit as it comes, and says so', () => {
    const assembler = new DimseAssembler(500);
    assembler.push(pdataPdu([{ context: 1, command: true, last: true, value: storeCommand }]));
    assembler.push(pdataPdu([{ context: 1, command: false, last: false, value: Buffer.alloc(400) }]));
    const [message] = assembler.push(pdataPdu([{ context: 1, command: false, last: true, value: Buffer.alloc(400) }]));
    expect(message).toMatchObject({ dataset: [], datasetBytes: 800, overLimit: true });
  });

  it('refuses broken streams: data before a command, a bad item length, a command set without its fields', () => {
    expect(() =>
      new DimseAssembler(100).push(pdataPdu([{ context: 1, command: false, last: true, value: Buffer.alloc(4) }])),
    ).toThrow(DimseProtocolError);
    const bad = pdataPdu([{ context: 1, command: true, last: true, value: storeCommand }]);
    bad.writeUInt32BE(bad.length, 6);
    expect(() => new DimseAssembler(100).push(bad)).toThrow(DimseProtocolError);
    expect(() => readCommandSet(commandSet([[0x0110, us(1)]]), 1)).toThrow(DimseProtocolError);
    const assembler = new DimseAssembler(100);
    assembler.push(pdataPdu([{ context: 1, command: true, last: true, value: storeCommand }]));
    expect(() =>
      assembler.push(pdataPdu([{ context: 2, command: false, last: true, value: Buffer.alloc(4) }])),
    ).toThrow(DimseProtocolError);
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
