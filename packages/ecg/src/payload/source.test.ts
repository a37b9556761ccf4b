import { describe, expect, it } from 'vitest';
import type { Ecg } from '../ecg.js';
import { PermanentError } from '../errors.js';
import { synthesizeEcg } from '../synth/index.js';
import { encodeEcgPayload, isEncodedEcgPayload } from './codec.js';
import { readEcgPayload, type SourceMeta } from './source.js';

describe('readEcgPayload', () => {
  const ecg = synthesizeEcg({ seed: 3 });
  const meta: SourceMeta = { feed: 'cstore', receivedAt: '2026-12-04T10:00:00Z', sha256: 'ab'.repeat(32) };

  it('decodes an encoded Ecg with the codec, without calling the source decoder', () => {
    const bytes = encodeEcgPayload(ecg);
    expect(isEncodedEcgPayload(bytes)).toBe(true);
    const back = readEcgPayload(bytes, meta, () => {
      throw new Error('not a source payload');
    });
    expect(back.id).toBe(ecg.id);
    expect(back.leads.II).toEqual(ecg.leads.II);
  });

  it('hands source bytes (no codec magic) to the source decoder with the meta', () => {
    const source = new Uint8Array(200).fill(7); // a DICOM preamble and more, as far as the magic goes
    expect(isEncodedEcgPayload(source)).toBe(false);
    const seen: [Uint8Array, SourceMeta][] = [];
    const decoded: Ecg = { ...ecg, id: 'from-source' };
    const decode = (bytes: Uint8Array, m: SourceMeta): Ecg => {
      seen.push([bytes, m]);
      return decoded;
    };
    expect(readEcgPayload(source, meta, decode)).toBe(decoded);
    expect(seen).toEqual([[source, meta]]);
  });

  it('refuses source bytes for good when the stage has no source decoder', () => {
    expect(() => readEcgPayload(new Uint8Array(3), meta)).toThrow(PermanentError);
  });
});
