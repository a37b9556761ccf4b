import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PduGuard } from './pdu-guard.js';

const pdu = (type: number, length: number) => {
  const out = new Uint8Array(6 + length);
  out[0] = type;
  new DataView(out.buffer).setUint32(2, length, false);
  return out;
};

describe('PduGuard', () => {
  it('passes well-formed PDUs however they are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.integer({ min: 1, max: 7 }), length: fc.integer({ min: 0, max: 300 }) }), {
          maxLength: 10,
        }),
        fc.integer({ min: 1, max: 50 }),
        (pdus, size) => {
          const stream = Buffer.concat(pdus.map((p) => pdu(p.type, p.length)));
          const guard = new PduGuard(300);
          for (let at = 0; at < stream.byteLength; at += size) {
            expect(guard.push(stream.subarray(at, at + size))).toBe(true);
          }
          expect(guard.completed).toBe(pdus.length);
        },
      ),
    );
  });

  it('stops a PDU over the limit or of an unknown type, even when its header is split', () => {
    const big = pdu(4, 0).subarray(0, 6);
    new DataView(big.buffer, big.byteOffset).setUint32(2, 0x7fffffff, false);
    const guard = new PduGuard(1 << 20);
    expect(guard.push(big.subarray(0, 3))).toBe(true);
    expect(guard.push(big.subarray(3))).toBe(false);
    expect(new PduGuard(1 << 20).push(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false);
  });

  it('counts a PDU as completed only when its last byte arrives, however slowly the bytes trickle', () => {
    const stream = pdu(4, 10);
    const guard = new PduGuard(100);
    for (let at = 0; at < stream.byteLength - 1; at++) guard.push(stream.subarray(at, at + 1));
    expect(guard.completed).toBe(0);
    guard.push(stream.subarray(stream.byteLength - 1));
    expect(guard.completed).toBe(1);
  });
});
