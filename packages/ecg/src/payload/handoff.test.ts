import { describe, expect, it } from 'vitest';
import { type Ecg, STANDARD_LEADS } from '../ecg.js';
import { synthesizeEcg } from '../synth/index.js';
import { EcgHandoff, type HandedOffEcg, withIntegerLeads } from './handoff.js';
import { hintLeadQuantum, leadQuantumHint } from './quantum.js';

const ecg = (seed: number): Ecg => ({ ...synthesizeEcg({ seed, fast: true }), id: `handoff-${seed}` });
/** 12 leads x 5,000 Float32 samples. */
const BYTES = 12 * 5000 * 4;

/** Whether `taken` holds what `put` held, bit for bit, in arrays of its own. */
function sameEcg(taken: HandedOffEcg | undefined, put: HandedOffEcg): boolean {
  if (!taken) return false;
  const { leads: takenLeads, quantised: takenQuantised, ...takenRest } = taken;
  const { leads: putLeads, quantised: putQuantised, ...putRest } = put;
  expect(takenRest).toEqual(putRest);
  for (const lead of STANDARD_LEADS) {
    const [a, b] = [takenLeads[lead], putLeads[lead]];
    if (a !== undefined) expect(a).not.toBe(b);
    expect(bits(a)).toEqual(bits(b));
    const [qa, qb] = [takenQuantised?.[lead], putQuantised?.[lead]];
    expect(qa?.origin).toBe(qb?.origin);
    expect(qa?.factor).toBe(qb?.factor);
    expect(qa?.data.constructor).toBe(qb?.data.constructor);
    expect(qa ? Array.from(qa.data) : undefined).toEqual(qb ? Array.from(qb.data) : undefined);
  }
  return true;
}

describe('EcgHandoff', () => {
  it('gives an ECG to one take, then reads as empty', () => {
    const handoff = new EcgHandoff();
    const first = ecg(1);
    expect(handoff.put('a', first)).toBe(true);
    expect(handoff.bytes).toBe(BYTES);
    expect(handoff.take('b')).toBeUndefined();
    expect(sameEcg(handoff.take('a'), first)).toBe(true);
    expect(handoff.take('a')).toBeUndefined();
    expect(handoff.size).toBe(0);
    expect(handoff.bytes).toBe(0);
  });

  it('when full, keeps what it holds (taken next) and refuses the newcomer', () => {
    const handoff = new EcgHandoff({ maxBytes: 2 * BYTES });
    const [a, b, c] = [ecg(1), ecg(2), ecg(3)];
    expect(handoff.put('a', a)).toBe(true);
    expect(handoff.put('b', b)).toBe(true);
    expect(handoff.put('c', c)).toBe(false);
    expect(handoff.take('c')).toBeUndefined();
    expect(sameEcg(handoff.take('a'), a)).toBe(true);
    expect(handoff.put('c', c)).toBe(true);
    expect(handoff.bytes).toBe(2 * BYTES);
  });

  it('a second put under one key replaces the first; remove drops it', () => {
    const handoff = new EcgHandoff();
    const [a, b] = [ecg(1), ecg(2)];
    handoff.put('k', a);
    handoff.put('k', b);
    expect(handoff.size).toBe(1);
    expect(handoff.bytes).toBe(BYTES);
    handoff.remove('k');
    expect(handoff.take('k')).toBeUndefined();
    expect(handoff.bytes).toBe(0);
  });

  it("holds copies: the ECG put can change or go, the taken one has its samples and the decoder's quantum hints", () => {
    const handoff = new EcgHandoff();
    const source = ecg(7);
    const leadII = source.leads.II as Float32Array;
    hintLeadQuantum(leadII, { origin: 0, factor: 2.5 });
    const before = Float32Array.from(leadII);
    handoff.put('k', source);
    leadII.fill(0);
    const taken = handoff.take('k');
    expect(bits(taken?.leads.II)).toEqual(bits(before));
    expect(leadQuantumHint(taken?.leads.II as Float32Array)).toEqual({ origin: 0, factor: 2.5 });
    expect(leadQuantumHint(taken?.leads.I as Float32Array)).toBeUndefined();
  });

  it('reuses its room: hundreds of ECGs through a hand-off that holds two', () => {
    const handoff = new EcgHandoff({ maxBytes: 2 * BYTES });
    const ecgs = [ecg(1), ecg(2), ecg(3)];
    for (let i = 0; i < 400; i++) {
      const e = ecgs[i % 3] as Ecg;
      expect(handoff.put(`k${i}`, e)).toBe(true);
      if (i % 2 === 1) {
        const [first, second] = [handoff.take(`k${i - 1}`), handoff.take(`k${i}`)];
        // Compared in full now and then (a deep compare of 120,000 samples is slow), by one lead's bytes otherwise.
        if (i % 100 === 1) {
          expect(sameEcg(first, ecgs[(i - 1) % 3] as Ecg)).toBe(true);
          expect(sameEcg(second, e)).toBe(true);
        } else {
          expect(Buffer.from(bytesOf(first?.leads.II)).equals(Buffer.from(bytesOf(ecgs[(i - 1) % 3]?.leads.II)))).toBe(
            true,
          );
          expect(Buffer.from(bytesOf(second?.leads.V6)).equals(Buffer.from(bytesOf(e.leads.V6)))).toBe(true);
        }
      }
    }
    expect(handoff.size).toBe(0);
    expect(handoff.bytes).toBe(0);
  });

  it('refuses an entry when its blocks are used up by many small ones, before the byte cap', () => {
    // Each 1-sample ECG takes a block of its own: far more than its 48 bytes.
    const handoff = new EcgHandoff({ maxBytes: 64 * 1024 });
    const tiny = (i: number): Ecg => {
      const leads: Ecg['leads'] = {};
      for (const lead of STANDARD_LEADS) leads[lead] = new Float32Array([i]);
      return { ...ecg(1), id: `tiny-${i}`, leads };
    };
    let taken = 0;
    while (handoff.put(`t${taken}`, tiny(taken))) taken++;
    expect(taken).toBeGreaterThan(0);
    expect(handoff.bytes).toBeLessThan(handoff.maxBytes);
    expect(sameEcg(handoff.take('t0'), tiny(0))).toBe(true);
    expect(handoff.put('again', tiny(0))).toBe(true);
  });

  it('drops entries older than maxAgeMs (their write ran elsewhere), freeing their room', () => {
    let now = 1_000;
    const handoff = new EcgHandoff({ maxBytes: 2 * BYTES, maxAgeMs: 100, now: () => now });
    handoff.put('old', ecg(1));
    now += 60;
    handoff.put('newer', ecg(2));
    now += 50; // 'old' is 110 ms old, 'newer' 50
    expect(handoff.take('old')).toBeUndefined();
    expect(handoff.size).toBe(1);
    expect(handoff.put('third', ecg(3))).toBe(true);
    expect(handoff.take('newer')).toBeDefined();
  });
});

/** An ECG whose leads lie on a 2.5 uV grid, as a DICOM decode gives them (12 leads x 5,000 samples). */
function gridded(seed: number): Ecg {
  const e = ecg(seed);
  const leads: Ecg['leads'] = {};
  for (const lead of STANDARD_LEADS) {
    leads[lead] = (e.leads[lead] as Float32Array).map((v) => Math.round(v / 2.5) * 2.5 + 0);
  }
  return { ...e, leads };
}

/** The bytes of an array. */
const bytesOf = (a: Float32Array | undefined): Uint8Array =>
  a ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : new Uint8Array(0);

/** The bits of Float32 samples, to compare them exactly. */
const bits = (samples: Float32Array | undefined) =>
  samples ? Array.from(new Uint32Array(samples.buffer, samples.byteOffset, samples.length)) : undefined;

describe('withIntegerLeads', () => {
  it('holds every lead on a quantum as Int16 integers instead of Float32 samples: half the bytes held', () => {
    const source = gridded(4);
    const lean = withIntegerLeads(source);
    expect(Object.keys(lean.leads)).toEqual([]);
    for (const lead of STANDARD_LEADS) expect(lean.quantised?.[lead]?.data).toBeInstanceOf(Int16Array);
    expect(lean.id).toBe(source.id);
    const handoff = new EcgHandoff();
    handoff.put('k', lean);
    expect(handoff.bytes).toBe(BYTES / 2);
    expect(source.leads.II).toBeInstanceOf(Float32Array); // the source ECG is left as it was
    expect(sameEcg(handoff.take('k'), lean)).toBe(true);
  });

  it('keeps a lead that does not quantise (a sample that is not finite) as its Float32 samples', () => {
    const source = gridded(5);
    (source.leads.V2 as Float32Array)[100] = Number.NaN;
    const lean = withIntegerLeads(source);
    expect(Object.keys(lean.leads)).toEqual(['V2']);
    expect(lean.leads.V2).toBe(source.leads.V2);
    expect(lean.quantised?.V2).toBeUndefined();
    const handoff = new EcgHandoff();
    handoff.put('k', lean);
    expect(handoff.bytes).toBe(11 * 5000 * 2 + 5000 * 4);
    expect(sameEcg(handoff.take('k'), lean)).toBe(true);
  });

  it('holds integers that give back the samples bit for bit, as Int32 where a lead needs them', () => {
    const source = gridded(6);
    // Up to 99,000 steps of 2.5 uV: past Int16, so the data are Int32 (the writer need not quantise the lead again).
    source.leads.V1 = Float32Array.from({ length: 5000 }, (_, i) => ((i % 100) * 1000 + (i % 7)) * 2.5);
    const handoff = new EcgHandoff();
    handoff.put('k', withIntegerLeads(source));
    const lean = handoff.take('k') as HandedOffEcg; // through a hand-off, as the writer gets them
    expect(lean.quantised?.V1?.data).toBeInstanceOf(Int32Array);
    expect(lean.leads.V1).toBeUndefined();
    for (const lead of STANDARD_LEADS) {
      const q = lean.quantised?.[lead];
      const back = Float32Array.from(q?.data ?? [], (d) => (q?.origin ?? 0) + (q?.factor ?? 0) * d);
      expect(bits(back)).toEqual(bits(source.leads[lead]));
    }
  });
});
