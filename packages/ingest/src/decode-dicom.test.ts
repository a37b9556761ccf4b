import { createHash } from 'node:crypto';
import {
  type LeadName,
  LimitExceededError,
  leadQuantumHint,
  MalformedInputError,
  quantiseLead,
  UnsupportedFormatError,
  withoutSimd,
} from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { decodeDicom } from './decode-dicom.js';
import { detectFormat } from './sniff.js';

// A minimal DICOM writer for synthetic test objects: explicit or implicit VR, little or big endian.

type Syntax = 'implicit' | 'explicit' | 'big';
const SYNTAX_UID: Record<Syntax, string> = {
  implicit: '1.2.840.10008.1.2',
  explicit: '1.2.840.10008.1.2.1',
  big: '1.2.840.10008.1.2.2',
};
const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OL', 'OD', 'OV']);

interface El {
  tag: number;
  vr: string;
  value: Uint8Array | El[][];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function strVal(s: string, pad = ' '): Uint8Array {
  const t = s.length % 2 ? s + pad : s;
  return new TextEncoder().encode(t);
}
const uiVal = (s: string) => strVal(s, '\0');

function numBytes(values: number[], size: 1 | 2 | 4, signed: boolean, little: boolean): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (size === 1) signed ? dv.setInt8(i, v) : dv.setUint8(i, v);
    else if (size === 2) signed ? dv.setInt16(i * 2, v, little) : dv.setUint16(i * 2, v, little);
    else signed ? dv.setInt32(i * 4, v, little) : dv.setUint32(i * 4, v, little);
  });
  return out;
}

function encode(elements: El[], syntax: Syntax): Uint8Array {
  const little = syntax !== 'big';
  const parts: Uint8Array[] = [];
  for (const el of elements) {
    const group = el.tag >>> 16;
    const elem = el.tag & 0xffff;
    let body: Uint8Array;
    if (Array.isArray(el.value)) {
      body = concat(
        el.value.map((item) => {
          const itemBody = encode(item, syntax);
          const head = new Uint8Array(8);
          const dv = new DataView(head.buffer);
          dv.setUint16(0, 0xfffe, little);
          dv.setUint16(2, 0xe000, little);
          dv.setUint32(4, itemBody.length, little);
          return concat([head, itemBody]);
        }),
      );
    } else {
      body = el.value;
    }
    let head: Uint8Array;
    if (syntax === 'implicit') {
      head = new Uint8Array(8);
      const dv = new DataView(head.buffer);
      dv.setUint16(0, group, true);
      dv.setUint16(2, elem, true);
      dv.setUint32(4, body.length, true);
    } else if (LONG_VRS.has(el.vr)) {
      head = new Uint8Array(12);
      const dv = new DataView(head.buffer);
      dv.setUint16(0, group, little);
      dv.setUint16(2, elem, little);
      head[4] = el.vr.charCodeAt(0);
      head[5] = el.vr.charCodeAt(1);
      dv.setUint32(8, body.length, little);
    } else {
      head = new Uint8Array(8);
      const dv = new DataView(head.buffer);
      dv.setUint16(0, group, little);
      dv.setUint16(2, elem, little);
      head[4] = el.vr.charCodeAt(0);
      head[5] = el.vr.charCodeAt(1);
      dv.setUint16(6, body.length, little);
    }
    parts.push(head, body);
  }
  return concat(parts);
}

function part10(dataset: Uint8Array, syntax: Syntax | string): Uint8Array {
  const uid = syntax in SYNTAX_UID ? SYNTAX_UID[syntax as Syntax] : syntax;
  const metaBody = encode(
    [
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: 0x00020010, vr: 'UI', value: uiVal(uid) },
    ],
    'explicit',
  );
  const groupLength = encode(
    [{ tag: 0x00020000, vr: 'UL', value: numBytes([metaBody.length], 4, false, true) }],
    'explicit',
  );
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([preamble, groupLength, metaBody, dataset]);
}

interface ChannelSpec {
  code?: string;
  scheme?: string;
  label?: string;
  sensitivity?: string;
  units?: string;
  baseline?: string;
  correction?: string;
}

interface GroupSpec {
  label?: string;
  originality?: string;
  rateHz?: string;
  interpretation?: string;
  bits?: number;
  channels: ChannelSpec[];
  /** Sample-major: samples[s][c]. */
  samples: number[][];
  padding?: number;
}

const SIZE: Record<string, { size: 1 | 2 | 4; signed: boolean }> = {
  SB: { size: 1, signed: true },
  UB: { size: 1, signed: false },
  SS: { size: 2, signed: true },
  US: { size: 2, signed: false },
  SL: { size: 4, signed: true },
  UL: { size: 4, signed: false },
};

function group(g: GroupSpec, little: boolean): El[] {
  const interp = g.interpretation ?? 'SS';
  const { size, signed } = SIZE[interp] ?? { size: 2, signed: true };
  const flat = g.samples.flat();
  const dataVr = size === 1 ? 'OB' : 'OW';
  let data = numBytes(flat, size, signed, little);
  if (data.length % 2) data = concat([data, new Uint8Array(1)]);
  const els: El[] = [
    { tag: 0x003a0004, vr: 'CS', value: strVal(g.originality ?? 'ORIGINAL') },
    { tag: 0x003a0005, vr: 'US', value: numBytes([g.channels.length], 2, false, little) },
    { tag: 0x003a0010, vr: 'UL', value: numBytes([g.samples.length], 4, false, little) },
    { tag: 0x003a001a, vr: 'DS', value: strVal(g.rateHz ?? '500') },
  ];
  if (g.label) els.push({ tag: 0x003a0020, vr: 'SH', value: strVal(g.label) });
  els.push({
    tag: 0x003a0200,
    vr: 'SQ',
    value: g.channels.map((c) => {
      const ch: El[] = [];
      if (c.label) ch.push({ tag: 0x003a0203, vr: 'SH', value: strVal(c.label) });
      if (c.code) {
        ch.push({
          tag: 0x003a0208,
          vr: 'SQ',
          value: [
            [
              { tag: 0x00080100, vr: 'SH', value: strVal(c.code) },
              { tag: 0x00080102, vr: 'SH', value: strVal(c.scheme ?? 'SCPECG') },
            ],
          ],
        });
      }
      if (c.sensitivity) ch.push({ tag: 0x003a0210, vr: 'DS', value: strVal(c.sensitivity) });
      if (c.units) {
        ch.push({
          tag: 0x003a0211,
          vr: 'SQ',
          value: [
            [
              { tag: 0x00080100, vr: 'SH', value: strVal(c.units) },
              { tag: 0x00080102, vr: 'SH', value: strVal('UCUM') },
            ],
          ],
        });
      }
      if (c.correction) ch.push({ tag: 0x003a0212, vr: 'DS', value: strVal(c.correction) });
      if (c.baseline) ch.push({ tag: 0x003a0213, vr: 'DS', value: strVal(c.baseline) });
      return ch;
    }),
  });
  els.push({ tag: 0x54001004, vr: 'US', value: numBytes([g.bits ?? size * 8], 2, false, little) });
  els.push({ tag: 0x54001006, vr: 'CS', value: strVal(interp) });
  if (g.padding !== undefined) {
    let pad = numBytes([g.padding], size, signed, little);
    if (pad.length % 2) pad = concat([pad, new Uint8Array(1)]);
    els.push({ tag: 0x5400100a, vr: dataVr, value: pad });
  }
  els.push({ tag: 0x54001010, vr: dataVr, value: data });
  return els;
}

function ecgDataset(groups: GroupSpec[], syntax: Syntax, opts: { sopClass?: string; extra?: El[] } = {}): Uint8Array {
  const little = syntax !== 'big';
  const els: El[] = [
    { tag: 0x00080016, vr: 'UI', value: uiVal(opts.sopClass ?? '1.2.840.10008.5.1.4.1.1.9.1.1') },
    { tag: 0x00080018, vr: 'UI', value: uiVal('1.2.3.4.5') },
    { tag: 0x0008002a, vr: 'DT', value: strVal('20240102030405') },
    { tag: 0x00080070, vr: 'LO', value: strVal('ACME') },
    { tag: 0x00100010, vr: 'PN', value: strVal('Doe^Jane') },
    { tag: 0x00100020, vr: 'LO', value: strVal('P-1') },
    { tag: 0x00100021, vr: 'LO', value: strVal('HOSP') },
    { tag: 0x00100030, vr: 'DA', value: strVal('19700101') },
    { tag: 0x00100040, vr: 'CS', value: strVal('F') },
    { tag: 0x0020000d, vr: 'UI', value: uiVal('1.2.3') },
    ...(opts.extra ?? []),
    { tag: 0x54000100, vr: 'SQ', value: groups.map((g) => group(g, little)) },
  ];
  els.sort((a, b) => a.tag - b.tag);
  return encode(els, syntax);
}

const I_II: ChannelSpec[] = [
  { code: '5.6.3-9-1', sensitivity: '1', units: 'uV' },
  { code: '5.6.3-9-2', sensitivity: '1', units: 'uV' },
];
const meta = { feed: 'test', receivedAt: '2024-01-01T00:00:00Z' };
const lead = (ecg: ReturnType<typeof decodeDicom>, name: LeadName) => Array.from(ecg.leads[name] ?? []);

describe('decodeDicom', () => {
  it.each(['explicit', 'implicit', 'big'] as const)('reads %s VR Part 10 files', (syntax) => {
    const bytes = part10(
      ecgDataset(
        [
          {
            label: 'RHYTHM',
            channels: I_II,
            samples: [
              [1, -2],
              [3, -4],
              [5, -6],
            ],
          },
        ],
        syntax,
      ),
      syntax,
    );
    const ecg = decodeDicom(bytes, meta);
    expect(ecg.id).toBe('1.2.3.4.5');
    expect(ecg.sampleRateHz).toBe(500);
    expect(lead(ecg, 'I')).toEqual([1, 3, 5]);
    expect(lead(ecg, 'II')).toEqual([-2, -4, -6]);
    expect(ecg.patient).toEqual({
      identifier: 'P-1',
      identifierSystem: 'HOSP',
      name: 'Doe^Jane',
      birthDate: '1970-01-01',
      sex: 'female',
    });
    expect(ecg.acquiredAt).toBe('2024-01-02T03:04:05');
    expect(ecg.source).toMatchObject({ format: 'dicom', feed: 'test', sopClassUid: '1.2.840.10008.5.1.4.1.1.9.1.1' });
    expect(ecg.source.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    // A stage decoding a stored source payload again passes the hash the intake computed; it is taken as given.
    const given = 'c'.repeat(64);
    expect(decodeDicom(bytes, { ...meta, sha256: given }).source.sha256).toBe(given);
  });

  it.each(['implicit', 'explicit'] as const)('reads a bare %s VR data set (as DIMSE sends it)', (syntax) => {
    const bytes = ecgDataset([{ channels: I_II, samples: [[7, 8]] }], syntax);
    expect(detectFormat(bytes)).toBe('dicom');
    expect(lead(decodeDicom(bytes, meta), 'II')).toEqual([8]);
  });

  it('gives the same leads at every byte offset and in either byte order (paired 16-bit fast path included)', () => {
    // Six channels: two pairs read together, a duplicate lead (the first wins) and a pressure channel skipped.
    const channels: ChannelSpec[] = [
      { label: 'I', sensitivity: '2.5', units: 'uV' },
      { label: 'II', sensitivity: '1', baseline: '3', units: 'uV' },
      { label: 'V1', sensitivity: '0.5', units: 'mV' },
      { label: 'III', sensitivity: '1', units: 'uV' },
      { label: 'II', sensitivity: '7', units: 'uV' },
      { label: 'V1', units: 'mm[Hg]' },
    ];
    const samples = [
      [-32768, 32767, -1, 0, 5, 6],
      [32767, -32768, 1, -1, 7, 8],
      [123, -456, 789, -1011, 9, 10],
      [0, 1, -2, 3, 11, 12],
      [-5, 4, -3, 2, 13, 14],
    ];
    const expected = {
      I: samples.map((r) => (r[0] as number) * 2.5),
      II: samples.map((r) => (r[1] as number) + 3),
      V1: samples.map((r) => (r[2] as number) * 500),
      III: samples.map((r) => r[3] as number),
    };
    for (const syntax of ['explicit', 'big'] as const) {
      const inner = part10(ecgDataset([{ channels, samples }], syntax), syntax);
      for (const shift of [0, 1, 2, 3]) {
        const outer = new Uint8Array(inner.length + shift);
        outer.set(inner, shift);
        const ecg = decodeDicom(outer.subarray(shift), meta);
        expect(Object.keys(ecg.leads).sort()).toEqual(['I', 'II', 'III', 'V1']);
        for (const name of ['I', 'II', 'III', 'V1'] as const) expect(lead(ecg, name)).toEqual(expected[name]);
      }
    }
  });

  it('pairs the last channel of one frame with the first of the next when the data starts mid-word', () => {
    const channels: ChannelSpec[] = [
      { label: 'I', sensitivity: '1.25', units: 'uV' },
      { label: 'II', sensitivity: '1', units: 'uV' },
      { label: 'V1', sensitivity: '2', units: 'uV' },
      { label: 'V2', sensitivity: '0.5', baseline: '-7', units: 'uV' },
    ];
    const samples = [
      [-32768, 32767, -1, 0],
      [32767, -32768, 1, -1],
      [123, -456, 789, -1011],
      [0, 1, -2, 32767],
      [-5, 4, -3, -32768],
    ];
    const expected = {
      I: samples.map((r) => (r[0] as number) * 1.25),
      II: samples.map((r) => r[1] as number),
      V1: samples.map((r) => (r[2] as number) * 2),
      V2: samples.map((r) => (r[3] as number) * 0.5 - 7),
    };
    const inner = part10(ecgDataset([{ channels, samples }], 'explicit'), 'explicit');
    for (const shift of [0, 1, 2, 3]) {
      const outer = new Uint8Array(inner.length + shift);
      outer.set(inner, shift);
      const ecg = decodeDicom(outer.subarray(shift), meta);
      for (const name of ['I', 'II', 'V1', 'V2'] as const) expect(lead(ecg, name)).toEqual(expected[name]);
    }
  });

  it('gives the same floats through the WebAssembly de-interleave as through the JavaScript passes', () => {
    // Float32 scales without baseline take the kernel; a baseline, padding or 8-bit data take the JavaScript loops.
    // Either way the leads must equal, bit for bit, the decoder with the kernels switched off and the float64 formula.
    const labels = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];
    const sensitivities = ['2.5', '-1.25', '1', '0.5', '3.75', '0.078125', '1000', '-2', '1.5', '4.875', '2.5', '1'];
    let seed = 99;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const r = seed % 7;
      return r === 0 ? -32768 : r === 1 ? 32767 : r === 2 ? 0 : ((seed >> 8) % 65536) - 32768;
    };
    const bitsOf = (x: Float32Array | undefined) => Array.from(new Int32Array(Float32Array.from(x ?? []).buffer));
    const cases: Array<{ channels: ChannelSpec[]; frames: number; extra?: Partial<GroupSpec> }> = [];
    for (const count of [2, 4, 6, 12]) {
      for (const frames of [1, 2, 3, 4, 5, 9]) {
        cases.push({
          frames,
          channels: labels.slice(0, count).map((label, c) => ({
            label,
            sensitivity: sensitivities[c] as string,
            units: c === 6 ? 'mV' : 'uV',
          })),
        });
      }
    }
    // 14 channels: a duplicate lead (the first wins) and a pressure channel, both left out of the kernel's rows.
    cases.push({
      frames: 7,
      channels: [
        ...labels.map((label) => ({ label, sensitivity: '2.5', units: 'uV' })),
        { label: 'II', sensitivity: '5', units: 'uV' },
        { label: 'V1', units: 'mm[Hg]' },
      ],
    });
    // Not exact in Float32 (0.1), a baseline, padding, 8-bit data: the JavaScript loops.
    const plain = labels.slice(0, 4).map((label) => ({ label, sensitivity: '2.5', units: 'uV' }));
    cases.push({ frames: 6, channels: [{ label: 'I', sensitivity: '0.1', units: 'uV' }, ...plain.slice(1)] });
    cases.push({
      frames: 6,
      channels: [{ label: 'I', sensitivity: '2.5', baseline: '3', units: 'uV' }, ...plain.slice(1)],
    });
    cases.push({ frames: 6, channels: plain, extra: { padding: 0 } });
    cases.push({ frames: 6, channels: plain, extra: { interpretation: 'SB' } });
    for (const { channels, frames, extra } of cases) {
      const eightBit = extra?.interpretation === 'SB';
      const samples = Array.from({ length: frames }, () => channels.map(() => (eightBit ? next() >> 8 : next())));
      for (const syntax of ['explicit', 'big'] as const) {
        const inner = part10(ecgDataset([{ channels, samples, ...extra }], syntax), syntax);
        for (const shift of [0, 1, 2, 3]) {
          const outer = new Uint8Array(inner.length + shift);
          outer.set(inner, shift);
          const bytes = outer.subarray(shift);
          const kernel = decodeDicom(bytes, meta);
          const js = withoutSimd(() => decodeDicom(bytes, meta));
          expect(Object.keys(kernel.leads).sort()).toEqual(Object.keys(js.leads).sort());
          channels.forEach((ch, c) => {
            const name = ch.label as LeadName;
            if (channels.findIndex((o) => o.label === ch.label) !== c || ch.units === 'mm[Hg]') return;
            expect(bitsOf(kernel.leads[name])).toEqual(bitsOf(js.leads[name]));
            if (extra?.padding === undefined) {
              const scale = Number(ch.sensitivity ?? '1') * (ch.units === 'mV' ? 1000 : 1);
              const offset = Number(ch.baseline ?? '0');
              const expected = Float32Array.from(samples.map((r) => (r[c] as number) * scale + offset));
              expect(bitsOf(kernel.leads[name])).toEqual(bitsOf(expected));
            }
          });
        }
      }
    }
  });

  it('reads from a Uint8Array at an odd offset of a larger buffer', () => {
    const inner = part10(
      ecgDataset(
        [
          {
            channels: I_II,
            samples: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
        'explicit',
      ),
      'explicit',
    );
    const outer = new Uint8Array(inner.length + 1);
    outer.set(inner, 1);
    expect(lead(decodeDicom(outer.subarray(1), meta), 'II')).toEqual([2, 4]);
  });

  it.each([
    ['SB', [[-5, 7]], [-5], [7]],
    ['UB', [[250, 7]], [250], [7]],
    ['US', [[65000, 1]], [65000], [1]],
    ['SL', [[-100000, 3]], [-100000], [3]],
    ['UL', [[3000000, 3]], [3000000], [3]],
  ] as const)('reads %s samples', (interp, samples, i, ii) => {
    const bytes = part10(
      ecgDataset(
        [{ interpretation: interp, channels: I_II, samples: samples.map((r) => [...r]) }],
        'explicit',
        interp === 'SL' || interp === 'UL' ? { sopClass: '1.2.840.10008.5.1.4.1.1.9.1.4' } : {},
      ),
      'explicit',
    );
    const ecg = decodeDicom(bytes, meta);
    expect(lead(ecg, 'I')).toEqual(i);
    expect(lead(ecg, 'II')).toEqual(ii);
  });

  it('applies sensitivity, correction factor, baseline and mV units', () => {
    const channels: ChannelSpec[] = [
      { code: '5.6.3-9-1', sensitivity: '0.5', correction: '2', baseline: '0.1', units: 'mV' },
      { code: '5.6.3-9-2' }, // no sensitivity, no units: 1 uV per unit
    ];
    const ecg = decodeDicom(
      part10(
        ecgDataset(
          [
            {
              channels,
              samples: [
                [10, 10],
                [-4, 3],
              ],
            },
          ],
          'explicit',
        ),
        'explicit',
      ),
      meta,
    );
    // (10 * 0.5 * 2 + 0.1) mV = 10.1 mV
    expect(lead(ecg, 'I')[0]).toBeCloseTo(10100, 2);
    expect(lead(ecg, 'I')[1]).toBeCloseTo(-3900, 2);
    expect(lead(ecg, 'II')).toEqual([10, 3]);
  });

  it("hands the payload codec each lead's quantum (sensitivity x correction, baseline, in uV) as a hint it can verify", () => {
    const channels: ChannelSpec[] = [
      { code: '5.6.3-9-1', sensitivity: '0.0049', units: 'mV' },
      { code: '5.6.3-9-2', sensitivity: '2.5', correction: '2', baseline: '7', units: 'uV' },
    ];
    const raw = [
      [10, 10],
      [-3, 3],
      [0, -2],
    ];
    for (const simd of [true, false]) {
      const decode = () => decodeDicom(part10(ecgDataset([{ channels, samples: raw }], 'explicit'), 'explicit'), meta);
      const ecg = simd ? decode() : withoutSimd(decode);
      expect(leadQuantumHint(ecg.leads.I as Float32Array)).toEqual({ origin: 0, factor: 0.0049 * 1000 });
      expect(leadQuantumHint(ecg.leads.II as Float32Array)).toEqual({ origin: 7, factor: 5 });
      // The codec takes it as a short cut to the search's answer: the decimal step, the data as sent.
      const i = quantiseLead(ecg.leads.I as Float32Array);
      expect({ factor: i?.factor, data: Array.from(i?.data ?? []) }).toEqual({ factor: 4.9, data: [10, -3, 0] });
      expect(i).toEqual(quantiseLead(new Float32Array(ecg.leads.I as Float32Array)));
      expect(quantiseLead(ecg.leads.II as Float32Array)).toEqual(
        quantiseLead(new Float32Array(ecg.leads.II as Float32Array)),
      );
    }
  });

  it('holds the previous value over padding samples, and back-fills leading padding', () => {
    const bytes = part10(
      ecgDataset(
        [
          {
            channels: I_II,
            padding: -32768,
            samples: [
              [-32768, 1],
              [5, -32768],
              [-32768, 3],
              [6, 4],
            ],
          },
        ],
        'explicit',
      ),
      'explicit',
    );
    const ecg = decodeDicom(bytes, meta);
    expect(lead(ecg, 'I')).toEqual([5, 5, 5, 6]);
    expect(lead(ecg, 'II')).toEqual([1, 1, 3, 4]);
  });

  it('maps by ChannelLabel when codes are missing, and by MDC codes', () => {
    const channels: ChannelSpec[] = [
      { label: 'Lead III' },
      { code: '2:3', scheme: 'MDC' },
      { label: 'Resp', units: 'uV' },
      { code: '5.6.3-9-2', units: 'mm[Hg]' }, // a pressure channel labelled as a lead is not an ECG lead
    ];
    const ecg = decodeDicom(part10(ecgDataset([{ channels, samples: [[1, 2, 3, 4]] }], 'explicit'), 'explicit'), meta);
    expect(Object.keys(ecg.leads).sort()).toEqual(['III', 'V1']);
    expect(lead(ecg, 'III')).toEqual([1]);
    expect(lead(ecg, 'V1')).toEqual([2]);
  });

  it('picks the RHYTHM group, never the median beat', () => {
    const bytes = part10(
      ecgDataset(
        [
          { label: 'MEDIAN BEAT', originality: 'DERIVED', channels: I_II, samples: [[9, 9]] },
          {
            label: 'RHYTHM',
            channels: I_II,
            rateHz: '1000',
            samples: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
        'explicit',
      ),
      'explicit',
    );
    const ecg = decodeDicom(bytes, meta);
    expect(ecg.sampleRateHz).toBe(1000);
    expect(lead(ecg, 'I')).toEqual([1, 3]);
  });

  it('refuses a file with only a median beat', () => {
    const bytes = part10(
      ecgDataset([{ label: 'MEDIAN BEAT', originality: 'DERIVED', channels: I_II, samples: [[9, 9]] }], 'explicit'),
      'explicit',
    );
    expect(() => decodeDicom(bytes, meta)).toThrow(MalformedInputError);
  });

  it('refuses non-ECG SOP classes and compressed transfer syntaxes, naming them', () => {
    const image = part10(
      ecgDataset([{ channels: I_II, samples: [[1, 2]] }], 'explicit', { sopClass: '1.2.840.10008.5.1.4.1.1.2' }),
      'explicit',
    );
    expect(() => decodeDicom(image, meta)).toThrow(/1\.2\.840\.10008\.5\.1\.4\.1\.1\.2 is not an ECG/);
    expect(() => decodeDicom(image, meta)).toThrow(UnsupportedFormatError);
    const deflated = part10(ecgDataset([{ channels: I_II, samples: [[1, 2]] }], 'explicit'), '1.2.840.10008.1.2.1.99');
    expect(() => decodeDicom(deflated, meta)).toThrow(/1\.2\.840\.10008\.1\.2\.1\.99 \(Deflated/);
  });

  it('refuses a hemodynamic object without ECG leads as unsupported', () => {
    const bytes = part10(
      ecgDataset([{ channels: [{ label: 'Aortic', units: 'mm[Hg]' }], samples: [[100]] }], 'explicit', {
        sopClass: '1.2.840.10008.5.1.4.1.1.9.2.1',
      }),
      'explicit',
    );
    expect(() => decodeDicom(bytes, meta)).toThrow(UnsupportedFormatError);
  });

  it('refuses data whose length does not match channels x samples x bytes', () => {
    const bytes = part10(
      ecgDataset(
        [
          {
            bits: 16,
            channels: I_II,
            samples: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
        'explicit',
      ),
      'explicit',
    );
    // Rewrite NumberOfWaveformSamples (003A,0010) UL from 2 to 3.
    const at = findTag(bytes, 0x003a, 0x0010) + 8;
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, 3, true);
    expect(() => decodeDicom(bytes, meta)).toThrow(/expected 2 channels x 3 samples x 2 bytes = 12/);
  });

  it('refuses bits allocated that do not fit the interpretation', () => {
    const bytes = part10(ecgDataset([{ bits: 8, channels: I_II, samples: [[1, 2]] }], 'explicit'), 'explicit');
    expect(() => decodeDicom(bytes, meta)).toThrow(/WaveformBitsAllocated 8/);
  });

  it('enforces limits on sample rate, channels and duration', () => {
    const fast = part10(ecgDataset([{ rateHz: '50000', channels: I_II, samples: [[1, 2]] }], 'explicit'), 'explicit');
    expect(() => decodeDicom(fast, meta)).toThrow(LimitExceededError);
    const long = part10(
      ecgDataset(
        [
          {
            rateHz: '1',
            channels: I_II,
            samples: [
              [1, 2],
              [1, 2],
              [1, 2],
            ],
          },
        ],
        'explicit',
      ),
      'explicit',
    );
    expect(() => decodeDicom(long, meta, { maxDurationS: 2 })).toThrow(LimitExceededError);
    expect(() => decodeDicom(long, meta, { maxChannels: 1 })).toThrow(LimitExceededError);
    expect(() => decodeDicom(long, meta, { maxBytes: 100 })).toThrow(LimitExceededError);
  });

  it('turns garbage into MalformedInputError', () => {
    const bytes = part10(ecgDataset([{ channels: I_II, samples: [[1, 2]] }], 'explicit'), 'explicit');
    expect(() => decodeDicom(bytes.subarray(0, bytes.length - 5), meta)).toThrow(MalformedInputError);
    expect(() => decodeDicom(new Uint8Array(200), meta)).toThrow(MalformedInputError);
  });
});

function findTag(bytes: Uint8Array, group: number, element: number): number {
  for (let i = 132; i < bytes.length - 4; i++) {
    if (
      bytes[i] === (group & 0xff) &&
      bytes[i + 1] === group >> 8 &&
      bytes[i + 2] === (element & 0xff) &&
      bytes[i + 3] === element >> 8
    ) {
      return i;
    }
  }
  throw new Error('tag not found');
}
