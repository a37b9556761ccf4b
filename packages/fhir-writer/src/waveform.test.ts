import {
  decodeEcgPayloadDetailed,
  encodeEcgPayload,
  findLeadQuantum,
  hintLeadQuantum,
  quantiseLead,
  STANDARD_LEADS,
  synthesizeEcg,
  withIntegerLeads,
} from '@ecgcad/ecg';
import type { Observation, ObservationComponent, SampledData } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOINC_12_LEAD_EKG, MDC_LEADS, SYSTEMS } from './codes.js';
import {
  decodeSampledData,
  encodeLead,
  FALLBACK_FACTOR_UV,
  leadOfMdcCode,
  leadSampledData,
  sampledDataTokens,
  WrittenData,
  waveformComponents,
  waveformIssues,
} from './waveform.js';

/** Float32 samples as a source computes them: raw integers * scale + offset. */
function fromRaw(raw: number[], scale: number, offset = 0): Float32Array {
  return Float32Array.from(raw, (r) => r * scale + offset);
}

/** Deterministic pseudo-random integers in [-range, range], with runs of repeated values and small steps. */
function rawSamples(n: number, range: number, seed = 1): number[] {
  let x = seed;
  let v = 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    v = Math.max(-range, Math.min(range, v + ((x >> 8) % 41) - 20));
    out.push(v);
  }
  return out;
}

function expectExactRoundTrip(samples: Float32Array): ReturnType<typeof encodeLead> {
  const encoded = encodeLead(samples);
  expect(encoded.exact).toBe(true);
  const sd = leadSampledData(samples, 500);
  const back = decodeSampledData(sd);
  expect(back.length).toBe(samples.length);
  expect(Float32Array.from(back)).toEqual(samples);
  for (const token of (sd.data ?? '').split(' ')) expect(token).toMatch(/^-?\d+$/);
  return encoded;
}

describe('encodeLead', () => {
  it('recovers a DICOM sensitivity of 2.5 uV: the data are the raw integers', () => {
    const raw = rawSamples(5000, 3000);
    const encoded = expectExactRoundTrip(fromRaw(raw, 2.5));
    expect(encoded).toMatchObject({ origin: 0, factor: 2.5 });
    expect(encoded.data.split(' ').map(Number)).toEqual(raw);
  });

  it('recovers steps that Float32 cannot hold exactly (MUSE 4.88 uV per bit, 0.00122 mV = 1.22 uV)', () => {
    expect(expectExactRoundTrip(fromRaw(rawSamples(5000, 1000, 2), 4.88)).factor).toBe(4.88);
    expect(expectExactRoundTrip(fromRaw(rawSamples(5000, 4000, 3), 0.00122 * 1000)).factor).toBe(1.22);
    // A step of 1 uV and large values (8 mV) still round-trip.
    expect(expectExactRoundTrip(fromRaw(rawSamples(5000, 8000, 4), 1)).factor).toBe(1);
  });

  it('keeps samples with a channel baseline exact', () => {
    expectExactRoundTrip(fromRaw(rawSamples(2000, 500, 5), 5, 12.8));
    expectExactRoundTrip(fromRaw(rawSamples(2000, 500, 5), 2.5, 1 / 3));
  });

  it('keeps a derived lead exact (aVR = -(I + II)/2 has half the step)', () => {
    const i = rawSamples(3000, 800, 6);
    const ii = rawSamples(3000, 800, 7);
    const avr = Float32Array.from(i, (v, k) => (-(v * 2.5) - (ii[k] as number) * 2.5) / 2);
    expect(expectExactRoundTrip(avr).factor).toBe(1.25);
  });

  it('falls back to a 0.1 uV step for arbitrary floats, within 0.05 uV', () => {
    const samples = Float32Array.from({ length: 5000 }, (_, k) => 1234.5678 * Math.sin(k / 37.3) + 0.01 * k);
    const encoded = encodeLead(samples);
    expect(encoded).toMatchObject({ origin: 0, factor: FALLBACK_FACTOR_UV, exact: false });
    const back = decodeSampledData(leadSampledData(samples, 500));
    let worst = 0;
    samples.forEach((v, k) => {
      worst = Math.max(worst, Math.abs(v - (back[k] as number)));
    });
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(FALLBACK_FACTOR_UV / 2 + 1e-3);
  });

  it('writes E for a sample that is not a finite number, and encodes a flat lead', () => {
    const samples = fromRaw([4, 9, 0, -3], 2.5);
    samples[2] = Number.NaN;
    expect(encodeLead(samples).data).toBe('4 9 E -3');
    expect(encodeLead(new Float32Array(10))).toMatchObject({ origin: 0, factor: 1, exact: true });
    expect(expectExactRoundTrip(new Float32Array(10).fill(-37.5)).data.split(' ')).toHaveLength(10);
  });
});

describe('encodeLead with the integers the payload codec stored', () => {
  it('gives the same SampledData as finding the quantum on the floats', () => {
    for (const [scale, offset] of [
      [2.5, 0],
      [4.88, 0],
      [5, 12.8],
      [1, 0],
    ] as const) {
      const samples = fromRaw(rawSamples(5000, 40_000, 9), scale, offset);
      const quantised = quantiseLead(samples);
      expect(quantised).toBeDefined();
      expect(encodeLead(samples, quantised)).toEqual(encodeLead(samples));
    }
  });

  it('writes the integers as decimal text, any width and sign', () => {
    const raw = [
      0, -0, 1, -1, 9, 10, -10, 99, 100, -100, 999, -999, 1000, -1000, 32_767, -32_767, 99_999, 2_147_483_647,
      -2_147_483_647,
    ];
    const samples = fromRaw(raw, 1);
    const data = Int32Array.from(raw);
    expect(encodeLead(samples, { origin: 0, factor: 1, data }).data).toBe(raw.map(String).join(' '));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32_767, max: 32_767 }), { minLength: 1, maxLength: 300 }), (ints) => {
        const q = { origin: 0, factor: 2.5, data: Int16Array.from(ints) };
        expect(encodeLead(fromRaw(ints, 2.5), q).data).toBe(ints.map((d) => String(d + 0)).join(' '));
      }),
    );
  });

  it("writes findLeadQuantum's quantum and data, with or without a decoder's hint (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -40_000, max: 40_000 }), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(1, 2.5, 4.88, 1.22, 0.5, 6.25, 0.3, 4.8999999999999995),
        fc.constantFrom(0, 12.8),
        fc.boolean(),
        fc.option(fc.constantFrom(Number.NaN, -0, 0.123)),
        (raw, scale, offset, hinted, odd) => {
          const samples = fromRaw(raw, scale, offset);
          if (odd !== null) samples[raw.length >> 1] = odd;
          if (hinted) hintLeadQuantum(samples, { origin: 0, factor: scale });
          const found = findLeadQuantum(samples);
          const origin = found?.origin ?? 0;
          const factor = found?.factor ?? FALLBACK_FACTOR_UV;
          const expected = Array.from(samples, (v) =>
            Number.isFinite(v) ? String(Math.round((v - origin) / factor) + 0) : 'E',
          ).join(' ');
          expect(encodeLead(samples)).toEqual({
            origin,
            factor,
            data: expected,
            exact: found !== undefined,
            wellFormed: true,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ignores integers that do not match the lead', () => {
    const samples = fromRaw([1, 2, 3], 2.5);
    const other = quantiseLead(fromRaw([1, 2], 2.5));
    expect(encodeLead(samples, other)).toEqual(encodeLead(samples));
  });
});

describe('waveformComponents', () => {
  it('gives one component per stored lead in the standard order, with the MDC code, period and dimensions', () => {
    const ecg = synthesizeEcg({ seed: 3 });
    const eightLeads = { ...ecg, leads: { ...ecg.leads } };
    for (const lead of ['III', 'aVR', 'aVL', 'aVF'] as const) delete eightLeads.leads[lead];
    const components = waveformComponents(eightLeads);
    expect(components.map((c) => c.code.coding?.[0]?.code)).toEqual(
      ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'].map((l) => MDC_LEADS[l as 'I'].code),
    );
    for (const c of components) {
      const lead = leadOfMdcCode(c.code.coding?.[0]?.code) as (typeof STANDARD_LEADS)[number];
      expect(c.code.coding?.[0]?.system).toBe(SYSTEMS.mdc);
      expect(c.valueSampledData).toMatchObject({
        origin: { value: 0, unit: 'uV', system: 'http://unitsofmeasure.org', code: 'uV' },
        period: 1000 / ecg.sampleRateHz,
        dimensions: 1,
      });
      const back = decodeSampledData(c.valueSampledData as never);
      const source = ecg.leads[lead] as Float32Array;
      expect(back.length).toBe(source.length);
      const step = c.valueSampledData?.factor as number;
      source.forEach((v, k) => {
        expect(Math.abs(v - (back[k] as number))).toBeLessThanOrEqual(step / 2 + 1e-3);
      });
    }
  });

  it('uses the codes of FHIR R4 Observation/ekg for leads I, II and III', () => {
    expect([MDC_LEADS.I.code, MDC_LEADS.II.code, MDC_LEADS.III.code]).toEqual(['131329', '131330', '131389']);
    expect(new Set(STANDARD_LEADS.map((l) => MDC_LEADS[l].code)).size).toBe(12);
  });
});

describe('waveformComponents: leads given as their stored integers alone', () => {
  it('gives the same components as the Float32 samples with their integers, and as the samples alone', () => {
    const ecg = synthesizeEcg({ seed: 21 });
    for (const lead of STANDARD_LEADS) {
      ecg.leads[lead] = (ecg.leads[lead] as Float32Array).map((v) => Math.round(v / 2.5) * 2.5 + 0);
    }
    // One lead of arbitrary floats: stored as Float32, so it comes with samples either way.
    ecg.leads.V6 = (ecg.leads.V6 as Float32Array).map((v, i) => v + 0.01 * Math.sin(i));
    const bytes = encodeEcgPayload(ecg);
    const full = decodeEcgPayloadDetailed(bytes);
    const lean = decodeEcgPayloadDetailed(bytes, { integersOnly: true });
    expect(Object.keys(lean.ecg.leads)).toEqual(['V6']);
    const fromIntegers = waveformComponents({ ...lean.ecg, quantised: lean.quantised });
    expect(fromIntegers).toEqual(waveformComponents({ ...full.ecg, quantised: full.quantised }));
    expect(fromIntegers).toEqual(waveformComponents(ecg));
    expect(fromIntegers).toHaveLength(12);
  });

  it('gives the same components for the ECG a hand-off holds with its leads as integers (withIntegerLeads)', () => {
    const ecg = synthesizeEcg({ seed: 22 });
    for (const lead of STANDARD_LEADS) {
      const raw = (ecg.leads[lead] as Float32Array).map((v) => Math.round(v / 2.5));
      ecg.leads[lead] = raw.map((r) => r * 2.5 + 0);
      // As the DICOM decoder states it for its leads: the write stage's search then takes one pass.
      hintLeadQuantum(ecg.leads[lead] as Float32Array, { origin: 0, factor: 2.5 });
    }
    ecg.leads.V6 = (ecg.leads.V6 as Float32Array).map((v, i) => v + 0.01 * Math.sin(i));
    const lean = withIntegerLeads(ecg);
    expect(Object.keys(lean.leads)).toEqual(['V6']);
    expect(waveformComponents(lean)).toEqual(waveformComponents(ecg));
  });

  it('refuses a lead with neither samples nor integers', () => {
    expect(() => encodeLead(undefined)).toThrow(/samples or its integers/);
  });
});

describe('waveformIssues', () => {
  const ecg = synthesizeEcg({ seed: 4 });
  const observation = (component: ObservationComponent[]): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ ...LOINC_12_LEAD_EKG }] },
    component,
  });

  it('accepts the components the encoder makes', () => {
    expect(waveformIssues('ecg', observation(waveformComponents(ecg)))).toEqual([]);
  });

  it('finds unknown or repeated lead codes, bad SampledData and leads of different lengths', () => {
    const [i, ii, iii] = waveformComponents(ecg) as [ObservationComponent, ObservationComponent, ObservationComponent];
    const sd = i.valueSampledData as SampledData;
    const broken = [
      i,
      { ...ii, code: { coding: [{ system: SYSTEMS.mdc, code: '999' }] } },
      { ...i, valueSampledData: { ...sd, dimensions: 2, data: '1.5 2' } },
      { ...iii, valueSampledData: { ...sd, origin: { value: 0, unit: 'mV' } } },
    ];
    expect(waveformIssues('ecg', observation(broken))).toEqual([
      'ecg component[1]: code must be an MDC lead code (urn:oid:2.16.840.1.113883.6.24)',
      'ecg component[2]: lead I appears twice',
      'ecg component[2]: dimensions must be 1',
      'ecg component[2]: data must be single-space-separated integers (or E, L, U)',
      'ecg component[3]: origin must be in uV (UCUM)',
      'ecg: the leads differ in their number of samples',
    ]);
    // Other Observations are not its business.
    expect(waveformIssues('x', { ...observation(broken), code: { text: 'other' } })).toEqual([]);
  });
});

describe('written data (the encoder vouches for the form of what it wrote)', () => {
  it('notes exactly the data strings whose tokens sampledDataTokens finds well formed, with their counts', () => {
    // Integers from the payload, the quantum search, the fallback with non-finite samples, and values past 2^31
    // steps of the fallback (String() writes those: never vouched for).
    const quantised = quantiseLead(fromRaw(rawSamples(500, 3000, 3), 2.5));
    const leads: Float32Array[] = [
      fromRaw(rawSamples(500, 3000, 5), 4.88),
      Float32Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? Number.NaN : Math.sin(i) * 1e3 + 0.0123)),
      Float32Array.from({ length: 500 }, (_, i) => (i % 2 ? 3e9 + i * 0.37 : -1e21)),
    ];
    fc.assert(
      fc.property(fc.float({ noNaN: true, min: -1e4, max: 1e4 }), fc.integer({ min: 1, max: 400 }), (base, n) => {
        leads.push(Float32Array.from({ length: n }, (_, i) => Math.fround(base + i * 0.3)));
      }),
      { numRuns: 50 },
    );
    const written = new WrittenData();
    const all = [
      leadSampledData(
        quantised ? fromRaw(rawSamples(500, 3000, 3), 2.5) : new Float32Array(0),
        500,
        quantised,
        written,
      ),
      ...leads.map((samples) => leadSampledData(samples, 500, undefined, written)),
    ];
    let vouched = 0;
    for (const sd of all) {
      const data = sd.data as string;
      const scanned = sampledDataTokens(data);
      if (written.has(data)) {
        vouched++;
        expect(scanned).toEqual({ count: written.get(data), wellFormed: true });
      } else {
        expect(scanned.wellFormed).toBe(false);
      }
    }
    expect(vouched).toBe(all.length - 1);
  });

  it('finds a noted string by its characters, not its object, and nothing else', () => {
    const written = new WrittenData();
    const data = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 2001).join(' ');
    written.set(data, 3000);
    written.set(`${data} 1`, 3001);
    expect(written.size).toBe(2);
    // An equal string made apart (another object) is found; one character changed, or one shorter, is not.
    const equal = [...data].join('');
    expect(written.get(equal)).toBe(3000);
    expect(written.has(`${data} 1`)).toBe(true);
    expect(written.get(`${data.slice(0, -1)}9`)).toBeUndefined();
    expect(written.has(data.slice(1))).toBe(false);
    expect(written.has('')).toBe(false);
    // Noting a string again keeps one entry with the later count, as Map.set does.
    written.set(equal, 2999);
    expect(written.size).toBe(2);
    expect(written.get(data)).toBe(2999);
  });

  it('still reads a data string changed after it was written', () => {
    const ecg = synthesizeEcg({ seed: 9 });
    const written = new WrittenData();
    const component = waveformComponents(ecg, written);
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ ...LOINC_12_LEAD_EKG }] },
      component,
    };
    expect(written.size).toBe(component.length);
    expect(waveformIssues('ecg', observation, written)).toEqual([]);
    const sd = component[4]?.valueSampledData as SampledData;
    sd.data = `${sd.data} 1.5`;
    expect(waveformIssues('ecg', observation, written)).toEqual([
      'ecg component[4]: data must be single-space-separated integers (or E, L, U)',
      'ecg: the leads differ in their number of samples',
    ]);
  });
});

describe('sampledDataTokens', () => {
  it('counts and checks tokens as splitting on single spaces and matching each against -?\\d+|[ELU] does', () => {
    const tokens = fc.oneof(
      fc.integer({ min: -1e6, max: 1e6 }).map(String),
      fc.constantFrom('E', 'L', 'U', '', '-', '1.5', 'e', 'EE', '-E', '5-', '٣', ' ', '+1', '1e3'),
    );
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 12 }), (parts) => {
        const data = parts.join(' ');
        const split = data.split(' ');
        expect(sampledDataTokens(data)).toEqual({
          count: split.length,
          wellFormed: split.every((t) => /^(-?\d+|[ELU])$/.test(t)),
        });
      }),
      { numRuns: 2000 },
    );
  });
});
