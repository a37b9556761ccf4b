import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MultipartParser, parseMediaType, parseMultipart } from './multipart.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function build(boundary: string, parts: { headers: string[]; body: Uint8Array }[], preamble = '', epilogue = '') {
  const pieces: Buffer[] = [Buffer.from(preamble, 'latin1')];
  parts.forEach((p, i) => {
    pieces.push(
      Buffer.from(`${i === 0 && !preamble ? '' : '\r\n'}--${boundary}\r\n${p.headers.join('\r\n')}\r\n\r\n`, 'latin1'),
    );
    pieces.push(Buffer.from(p.body));
  });
  pieces.push(Buffer.from(`\r\n--${boundary}--${epilogue}`, 'latin1'));
  return new Uint8Array(Buffer.concat(pieces));
}

describe('parseMediaType', () => {
  it('reads type, quoted and bare parameters, case-insensitively', () => {
    expect(parseMediaType('Multipart/Related; type="application/dicom"; boundary=abc123')).toEqual({
      type: 'multipart/related',
      params: { type: 'application/dicom', boundary: 'abc123' },
    });
    expect(parseMediaType('multipart/related;boundary="a b\\"c";TYPE=application/dicom')?.params).toEqual({
      boundary: 'a b"c',
      type: 'application/dicom',
    });
    expect(parseMediaType('application/xml; charset=utf-8')?.type).toBe('application/xml');
  });
  it('takes an unquoted type parameter with a slash, as senders write it', () => {
    expect(parseMediaType('multipart/related; type=application/dicom; boundary=abc')?.params).toEqual({
      type: 'application/dicom',
      boundary: 'abc',
    });
  });
  it('refuses a value without type/subtype, and drops a broken parameter', () => {
    for (const bad of [undefined, '', 'multipart', 'a/b x=y', 'a/', `a/b; x=${'y'.repeat(1100)}`]) {
      expect(parseMediaType(bad)).toBeUndefined();
    }
    for (const broken of ['a/b; =x', 'a/b; x="unterminated', 'a/b; x', 'a/b;']) {
      expect(parseMediaType(broken)).toEqual({ type: 'a/b', params: {} });
    }
  });
});

describe('MultipartParser', () => {
  it('parses parts with headers, preamble and epilogue', () => {
    const body = build(
      'XyZ',
      [
        { headers: ['Content-Type: application/dicom', 'Content-Location: a.dcm'], body: enc('first\r\n--XyNot') },
        { headers: ['content-type: application/dicom'], body: new Uint8Array([0, 13, 10, 45, 45, 255]) },
      ],
      'ignored preamble',
      '\r\nignored epilogue',
    );
    const parts = parseMultipart(body, 'XyZ');
    expect(parts).toHaveLength(2);
    expect(parts[0]?.headers).toEqual({ 'content-type': 'application/dicom', 'content-location': 'a.dcm' });
    expect(dec(parts[0]!.body)).toBe('first\r\n--XyNot');
    expect(Array.from(parts[1]!.body)).toEqual([0, 13, 10, 45, 45, 255]);
  });

  it('gives the same parts however the body is split into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (bodies, cuts) => {
          const boundary = 'ecgcad-boundary-7f3a';
          const body = build(
            boundary,
            bodies.map((b) => ({ headers: ['Content-Type: application/dicom'], body: b })),
          );
          const parser = new MultipartParser(boundary);
          let at = 0;
          let i = 0;
          while (at < body.byteLength) {
            const size = cuts[i++ % cuts.length]!;
            parser.push(body.subarray(at, at + size));
            at += size;
          }
          const parts = parser.end();
          expect(parts.map((p) => Array.from(p.body))).toEqual(bodies.map((b) => Array.from(b)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a truncated body, a bad line after a boundary, folded headers', () => {
    const good = build('b1', [{ headers: ['Content-Type: application/dicom'], body: enc('x') }]);
    expect(() => parseMultipart(good.subarray(0, good.byteLength - 4), 'b1')).toThrow(/closing boundary/);
    expect(() => parseMultipart(enc('--b1junk\r\n\r\nx\r\n--b1--'), 'b1')).toThrow(/CRLF/);
    expect(() => parseMultipart(enc('--b1\r\nA: b\r\n folded\r\n\r\nx\r\n--b1--'), 'b1')).toThrow(/folded/);
    expect(() => parseMultipart(enc('no boundary at all'.repeat(2000)), 'b1')).toThrow(/no multipart boundary/);
    expect(() => new MultipartParser('')).toThrow(/boundary/);
  });

  it('enforces part count, part size, header size and total size', () => {
    const three = build(
      'b',
      [1, 2, 3].map(() => ({ headers: ['Content-Type: application/dicom'], body: enc('abc') })),
    );
    expect(() => parseMultipart(three, 'b', { maxParts: 2 })).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    );
    const big = build('b', [{ headers: [], body: new Uint8Array(5000) }]);
    expect(() => parseMultipart(big, 'b', { maxPartBytes: 4096 })).toThrow(/over 4096 bytes/);
    expect(() => parseMultipart(big, 'b', { maxTotalBytes: 1000 })).toThrow(/body over 1000/);
    const longHeader = build('b', [{ headers: [`X-Pad: ${'p'.repeat(3000)}`], body: enc('x') }]);
    expect(() => parseMultipart(longHeader, 'b', { maxHeaderBytes: 1024 })).toThrow(/headers over/);
  });

  it('never throws anything but typed errors on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        try {
          parseMultipart(bytes, 'b');
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(/^(MALFORMED|LIMIT_EXCEEDED)$/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
