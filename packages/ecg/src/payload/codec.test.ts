import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Ecg } from '../ecg.js';
import { MalformedInputError } from '../errors.js';
import { withoutSimd } from '../simd-kernels.js';
import { synthesizeEcg } from '../synth/synthesize.js';
import {
  decodeEcgPayload,
  decodeEcgPayloadDetailed,
  encodeEcgPayload,
  PAYLOAD_VERSION,
  quantiseLead,
} from './codec.js';
import { findLeadQuantum, hintLeadQuantum } from './quantum.js';

const small = (): Ecg => ({
  id: 'sha256:abc',
  source: { format: 'aecg', sha256: 'abc', feed: 'http', receivedAt: '2026-01-01T00:00:00.000Z' },
  patient: { identifier: 'P1', sex: 'female' },
  device: { manufacturer: 'ACME' },
  sampleRateHz: 250,
  leads: { II: Float32Array.from([1.5, -2, 3e6]), V1: Float32Array.from([0, Number.NaN, -0.25]) },
});

/** The bytes of a Float32Array (bit-identity: NaN payloads and -0 included). */
const bitsOf = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Every lead of `back` holds the bits of the same lead of `ecg`. */
function expectSameBits(back: Ecg, ecg: Ecg): void {
  expect(Object.keys(back.leads).sort()).toEqual(Object.keys(ecg.leads).sort());
  for (const [name, lead] of Object.entries(ecg.leads)) {
    // Buffer.equals, not toEqual: a deep comparison of 20 kB per lead is slow and its diff unreadable anyway.
    expect(bitsOf((back.leads as Record<string, Float32Array>)[name] as Float32Array).equals(bitsOf(lead)), name).toBe(
      true,
    );
  }
}

/** A 12-lead record whose leads are raw integers * scale (+ offset), as DICOM and aECG sources compute them. */
let base: Ecg | undefined;
function quantisedEcg(scale: number, offset = 0, range = 3000): Ecg {
  base ??= synthesizeEcg({ seed: 11 });
  const ecg: Ecg = { ...base, leads: { ...base.leads } };
  for (const [name, lead] of Object.entries(ecg.leads)) {
    (ecg.leads as Record<string, Float32Array>)[name] = Float32Array.from(
      lead,
      (v) => Math.max(-range, Math.min(range, Math.round(v / scale))) * scale + offset,
    );
  }
  return ecg;
}

describe('ecg payload codec', () => {
  it('round-trips a synthetic 12-lead record bit for bit', () => {
    const ecg = synthesizeEcg({ seed: 7 });
    const back = decodeEcgPayload(encodeEcgPayload(ecg));
    expect(back.id).toBe(ecg.id);
    expect(back.source).toEqual(ecg.source);
    expect(back.patient).toEqual(ecg.patient);
    expect(back.acquiredAt).toBe(ecg.acquiredAt);
    expect(back.sampleRateHz).toBe(ecg.sampleRateHz);
    expect(Object.keys(back.leads).sort()).toEqual(Object.keys(ecg.leads).sort());
    for (const [name, lead] of Object.entries(ecg.leads)) {
      expect(Buffer.from((back.leads as Record<string, Float32Array>)[name]!.buffer)).toEqual(
        Buffer.from(lead.buffer, lead.byteOffset, lead.byteLength),
      );
    }
  });

  it('stores quantised leads as Int16 with their quantum (half the bytes) and gives back the same bits', () => {
    for (const [scale, offset] of [
      [2.5, 0],
      [4.88, 0],
      [1.22, 0],
      [5, 12.8],
    ] as const) {
      const ecg = quantisedEcg(scale, offset);
      const v1 = encodeEcgPayload(ecg, { version: 1 });
      const v2 = encodeEcgPayload(ecg);
      expect(v2[4]).toBe(2);
      expect(v2.length).toBeLessThan(v1.length * 0.51);
      const { ecg: back, quantised } = decodeEcgPayloadDetailed(v2);
      expectSameBits(back, ecg);
      expectSameBits(decodeEcgPayload(v1), ecg);
      for (const [name, lead] of Object.entries(ecg.leads)) {
        const q = quantised[name as 'I'];
        expect(q?.data).toBeInstanceOf(Int16Array);
        // The quantum the FHIR writer would find on the floats: the SampledData stay the same.
        expect({ origin: q?.origin, factor: q?.factor }).toEqual(findLeadQuantum(lead));
      }
    }
  });

  it('uses Int32 for data past 16 bits, Float32 for leads with no quantum, NaN, infinities or -0', () => {
    expect(quantiseLead(Float32Array.from([0, 40_000, -1]))?.data).toBeInstanceOf(Int32Array);
    expect(quantiseLead(Float32Array.from([0, 32_767, -32_767]))?.data).toBeInstanceOf(Int16Array);
    expect(quantiseLead(Float32Array.from([0, 2.5, Number.NaN]))).toBeUndefined();
    expect(quantiseLead(Float32Array.from([0, 2.5, Number.NEGATIVE_INFINITY]))).toBeUndefined();
    expect(quantiseLead(Float32Array.from([2.5, -0, 5]))).toBeUndefined();
    const ecg = small();
    ecg.leads.I = Float32Array.from([-0, 2.5, 5]);
    ecg.leads.V2 = Float32Array.from([1, 1e8, -1e8]);
    ecg.leads.V3 = Float32Array.from([0.123, 1.7e-7, 3.3]);
    const { ecg: back, quantised } = decodeEcgPayloadDetailed(encodeEcgPayload(ecg));
    expectSameBits(back, ecg);
    expect(Object.is(back.leads.I?.[0], -0)).toBe(true);
    expect(Object.keys(quantised).sort()).toEqual(['II', 'V2']);
    expect(quantised.V2?.data).toBeInstanceOf(Int32Array);
    // integersOnly: the same integers, and Float32 only for the leads stored as floats.
    const lean = decodeEcgPayloadDetailed(encodeEcgPayload(ecg), { integersOnly: true });
    expect(lean.quantised).toEqual(quantised);
    const floatLeads = Object.keys(back.leads).filter((lead) => !(lead in quantised));
    expect(floatLeads).toContain('V3');
    expect(Object.keys(lean.ecg.leads)).toEqual(floatLeads);
    for (const lead of floatLeads) expect(lean.ecg.leads[lead as 'V3']).toEqual(back.leads[lead as 'V3']);
    expect({ ...lean.ecg, leads: {} }).toEqual({ ...back, leads: {} });
  });

  it("takes a decoder's quantum hint as a short cut to the search's own answer, never another one", () => {
    const same = (hinted: Float32Array) => {
      const plain = quantiseLead(new Float32Array(hinted));
      const q = quantiseLead(hinted);
      expect(q).toEqual(plain);
      return q;
    };
    // Data all even under 2.5: the search finds 5 (the coarsest step in the floats), and so does the hinted lead.
    const raw = [0, 2, -4, 10, 400];
    const even = Float32Array.from(raw, (r) => r * 2.5);
    hintLeadQuantum(even, { origin: 0, factor: 2.5 });
    expect(same(even)?.factor).toBe(5);
    const odd = Float32Array.from([0, 3, -4, 10, 401], (r) => r * 2.5);
    hintLeadQuantum(odd, { origin: 0, factor: 2.5 });
    expect(Array.from(same(odd)?.data ?? [])).toEqual([0, 3, -4, 10, 401]);
    // A binary factor read back to the source's decimal, as the search reads the floats.
    const binary = Float32Array.from([1, -3, 7, 1000], (r) => r * 4.9);
    hintLeadQuantum(binary, { origin: 0, factor: 0.0049 * 1000 });
    expect(same(binary)?.factor).toBe(4.9);
    // Data past 16 bits: Int32, as without the hint.
    const wide = Float32Array.from([0, 1, 40_000], (r) => r * 2.5);
    hintLeadQuantum(wide, { origin: 0, factor: 2.5 });
    expect(same(wide)?.data).toBeInstanceOf(Int32Array);
    // A hint that does not reproduce every sample (a lead changed after decoding) is not trusted.
    const wrong = Float32Array.from(raw, (r) => r * 2.5);
    hintLeadQuantum(wrong, { origin: 0, factor: 3 });
    expect(same(wrong)?.factor).toBe(5);
    const changed = Float32Array.from([0, 2.5, 1.25]);
    hintLeadQuantum(changed, { origin: 0, factor: 2.5 });
    expect(same(changed)?.factor).toBe(1.25);
    // A baseline: the search decides alone (it may find origin 0 with another step).
    const baseline = Float32Array.from([1, 2, 3], (r) => 7 + 5 * r);
    hintLeadQuantum(baseline, { origin: 7, factor: 5 });
    same(baseline);
    // Non-finite samples and -0 stay Float32 under a hint too.
    for (const oddSample of [Number.NaN, Number.POSITIVE_INFINITY, -0]) {
      const lead = Float32Array.from([2.5, oddSample, 5]);
      hintLeadQuantum(lead, { origin: 0, factor: 2.5 });
      expect(quantiseLead(lead)).toBeUndefined();
    }
    // A whole record: the payload with hints is the payload without, byte for byte.
    const ecg = quantisedEcg(4.9, 0);
    for (const lead of Object.values(ecg.leads)) hintLeadQuantum(lead, { origin: 0, factor: 0.0049 * 1000 });
    expectSameBits(decodeEcgPayload(encodeEcgPayload(ecg)), ecg);
    expect(encodeEcgPayload(ecg)).toEqual(
      encodeEcgPayload({
        ...ecg,
        leads: Object.fromEntries(Object.entries(ecg.leads).map(([k, v]) => [k, new Float32Array(v)])),
      }),
    );
  });

  it('gives the same answer with a hint as without for any lead and any hint (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -40_000, max: 40_000 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(2.5, 4.88, 1.22, 0.0049 * 1000, 5, 1, 0.5),
        fc.constantFrom(2.5, 4.88, 1.22, 0.0049 * 1000, 5, 1, 0.5, 10),
        fc.integer({ min: 1, max: 4 }),
        (raw, scale, hinted, step) => {
          const lead = Float32Array.from(raw, (r) => r * step * scale);
          const plain = quantiseLead(new Float32Array(lead));
          hintLeadQuantum(lead, { origin: 0, factor: hinted });
          expect(quantiseLead(lead)).toEqual(plain);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('gives back the same bits for any integer lead under any quantum, or any float lead (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -70_000, max: 70_000 }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(1, 2.5, 4.88, 1.22, 0.5, 6.25, 0.3, 1 / 3),
        fc.constantFrom(0, 12.8, -3.3),
        fc.array(fc.float({ noDefaultInfinity: false }), { minLength: 1, maxLength: 50 }),
        (raw, scale, offset, floats) => {
          const ecg = small();
          ecg.leads = {
            I: Float32Array.from(raw, (r) => r * scale + offset),
            V1: Float32Array.from(raw, (_r, k) => floats[k % floats.length] as number),
          };
          expectSameBits(decodeEcgPayload(encodeEcgPayload(ecg)), ecg);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds the same quantum and data with the SIMD kernel as with the JavaScript loops, hinted or not (property)', () => {
    // Leads long enough for the kernel (SIMD_MIN_VALUES), any length mod 4; integers under a quantum and origin,
    // some samples then replaced by values off the grid, NaN, infinities, -0 or the edges of Int16 and Int32 data.
    const odd = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1.3, 2 ** 40, 32_767, 32_768, -32_768);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -40_000, max: 40_000 }), { minLength: 256, maxLength: 700 }),
        fc.constantFrom(2.5, 4.88, 1.22, 0.0049 * 1000, 5, 1, 0.5, 1 / 3),
        fc.constantFrom(0, 0, 12.8, -3.3),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.nat(), odd), { maxLength: 2 }),
        fc.constantFrom(undefined, 2.5, 4.88, 0.0049 * 1000, 5),
        (raw, scale, offset, step, replaced, hint) => {
          const lead = Float32Array.from(raw, (r) => r * step * scale + offset);
          for (const [at, value] of replaced) {
            // The Int16 edges as data under the lead's quantum; the other values as they are.
            lead[at % lead.length] = Math.abs(value) >= 32_767 && Math.abs(value) <= 32_768 ? value * scale : value;
          }
          if (hint !== undefined) hintLeadQuantum(lead, { origin: 0, factor: hint });
          const loops = withoutSimd(() => quantiseLead(lead));
          expect(quantiseLead(lead)).toStrictEqual(loops);
          if (loops !== undefined && hint === undefined) expect(loops.factor).toBe(findLeadQuantum(lead)?.factor);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('encodes records one after another, a long one (past the reused buffer) between short ones, each exactly', () => {
    const short = quantisedEcg(2.5);
    const long = small();
    // 1.1 M samples: 4.4 MB as Int32, past the encoder's reused buffer, so its data get arrays of their own.
    long.leads = { II: Float32Array.from({ length: 1_100_000 }, (_, i) => 2.5 * ((i * 7919) % 4001) - 5000) };
    for (const ecg of [short, long, short]) {
      const payload = encodeEcgPayload(ecg);
      expectSameBits(decodeEcgPayload(payload), ecg);
    }
    expect(decodeEcgPayloadDetailed(encodeEcgPayload(long)).quantised.II?.data).toBeInstanceOf(Int16Array);
  });

  it('still reads version 1 payloads (those in Redis during an upgrade)', () => {
    const ecg = quantisedEcg(2.5);
    const v1 = encodeEcgPayload(ecg, { version: 1 });
    expect(v1[4]).toBe(1);
    const { ecg: back, quantised } = decodeEcgPayloadDetailed(v1);
    expectSameBits(back, ecg);
    expect(quantised).toEqual({});
  });

  it('keeps NaN, large values and missing optional fields', () => {
    const back = decodeEcgPayload(encodeEcgPayload(small()));
    expect(back.acquiredAt).toBeUndefined();
    expect(Array.from(back.leads.II!)).toEqual([1.5, -2, 3e6]);
    expect(Number.isNaN(back.leads.V1![1])).toBe(true);
    expect(back.leads.I).toBeUndefined();
  });

  it('decodes a payload that starts at an odd offset of a larger buffer', () => {
    const bytes = encodeEcgPayload(small());
    const host = new Uint8Array(bytes.length + 1);
    host.set(bytes, 1);
    expect(Array.from(decodeEcgPayload(host.subarray(1)).leads.II!)).toEqual([1.5, -2, 3e6]);
  });

  it('decodes from a Node Buffer view into a larger buffer (as Redis clients hand them out), leads owning their data', () => {
    const bytes = encodeEcgPayload(small());
    const host = Buffer.alloc(bytes.length + 3, 0xff);
    host.set(bytes, 3);
    const ecg = decodeEcgPayload(host.subarray(3));
    expect(Array.from(ecg.leads.II!)).toEqual([1.5, -2, 3e6]);
    expect(ecg.leads.II!.buffer.byteLength).toBe(ecg.leads.II!.byteLength);
    host.fill(0);
    expect(Array.from(ecg.leads.II!)).toEqual([1.5, -2, 3e6]);
  });

  it('refuses leads of different lengths at encode', () => {
    const ecg = small();
    ecg.leads.I = new Float32Array(2);
    expect(() => encodeEcgPayload(ecg)).toThrow(MalformedInputError);
  });

  it('refuses a wrong magic, a future version, and truncation', () => {
    const bytes = encodeEcgPayload(small());
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    expect(() => decodeEcgPayload(badMagic)).toThrow(/bad magic/);
    const future = bytes.slice();
    future[4] = PAYLOAD_VERSION + 1;
    expect(() => decodeEcgPayload(future)).toThrow(/version/);
    expect(() => decodeEcgPayload(bytes.subarray(0, bytes.length - 4))).toThrow(MalformedInputError);
    expect(() => decodeEcgPayload(bytes.subarray(0, 5))).toThrow(MalformedInputError);
  });

  it('names the header field a payload gets wrong', () => {
    const bytes = encodeEcgPayload(small());
    const headerBytes = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerBytes)));
    /** The payload with its header replaced (padded to the same length, so the lead blocks stay where they are). */
    const withHeader = (changed: unknown): Uint8Array => {
      // A shorter device object makes room for the changed field.
      const text = JSON.stringify(Array.isArray(changed) ? changed : { ...(changed as object), device: {} });
      expect(text.length).toBeLessThanOrEqual(headerBytes);
      const out = bytes.slice();
      out.set(new TextEncoder().encode(text.padEnd(headerBytes, ' ')), 12);
      return out;
    };
    expect(decodeEcgPayload(withHeader(header)).id).toBe(header.id);
    const cases: Array<[unknown, RegExp]> = [
      [[], /header is not an object/],
      [{ ...header, id: '' }, /header has no id.*header\.id/],
      [{ ...header, patient: [] }, /no patient object.*header\.patient/],
      [{ ...header, source: { ...header.source, feed: 1 } }, /source lacks feed or receivedAt.*header\.source/],
      [{ ...header, sampleRateHz: -1 }, /sample rate is not a positive number/],
      [{ ...header, samples: 1.5 }, /sample count is not a non-negative integer/],
      [{ ...header, leads: ['I', 'I'] }, /unknown or repeated lead.*header\.leads/],
      [{ ...header, leads: ['X'] }, /unknown or repeated lead/],
    ];
    for (const [changed, message] of cases) {
      expect(() => decodeEcgPayload(withHeader(changed))).toThrow(MalformedInputError);
      expect(() => decodeEcgPayload(withHeader(changed))).toThrow(message);
    }
  });

  it('refuses any corruption with MalformedInputError or decodes to a well-formed record, never a raw error', () => {
    const bytes = encodeEcgPayload(small());
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: bytes.length }),
        (at, value, cut) => {
          const mutated = bytes.slice(0, Math.max(cut, at + 1));
          mutated[at] = value;
          try {
            const ecg = decodeEcgPayload(mutated);
            for (const lead of Object.values(ecg.leads)) expect(lead).toBeInstanceOf(Float32Array);
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedInputError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(() => decodeEcgPayload(bytes)).toThrow(MalformedInputError);
      }),
    );
  });
});
