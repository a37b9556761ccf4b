import { ConfigError, type Ecg, MalformedInputError, synthesizeEcg } from '@ecgcad/ecg';
import type { DataSet } from 'dicom-parser';
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { isValidUid } from './dicom-writer/uid.js';
import { GENERAL_ECG_SOP_CLASS, TWELVE_LEAD_ECG_SOP_CLASS, writeDicomEcg } from './write-dicom.js';

/** Parses with dicom-parser (an independent reader), not with this package's decoder. */
function parse(bytes: Uint8Array): DataSet {
  return dicomParser.parseDicom(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

function group(ds: DataSet): DataSet {
  const item = ds.elements.x54000100?.items?.[0]?.dataSet;
  if (!item) throw new Error('no WaveformSequence item');
  return item;
}

/** Interleaved int16 samples of the first multiplex group. */
function samples(bytes: Uint8Array, ds: DataSet): Int16Array {
  const el = group(ds).elements.x54001010;
  if (!el) throw new Error('no WaveformData');
  const view = new DataView(bytes.buffer, bytes.byteOffset + el.dataOffset, el.length);
  const out = new Int16Array(el.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

describe('writeDicomEcg', () => {
  const ecg = synthesizeEcg({ seed: 42 });

  it('writes a Part 10 file: preamble, DICM, meta group with its length, explicit VR little endian', () => {
    const bytes = writeDicomEcg(ecg);
    expect([...bytes.subarray(0, 128)].every((b) => b === 0)).toBe(true);
    expect(new TextDecoder().decode(bytes.subarray(128, 132))).toBe('DICM');
    const meta = dicomParser.readPart10Header(Buffer.from(bytes));
    const groupLength = meta.uint32('x00020000');
    // The meta group ends where the group length says: the next tag is in group 0008.
    const next = new DataView(bytes.buffer, bytes.byteOffset).getUint16(132 + 12 + (groupLength ?? 0), true);
    expect(next).toBe(0x0008);
    expect(meta.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(meta.string('x00020002')).toBe(TWELVE_LEAD_ECG_SOP_CLASS);
    expect(isValidUid(meta.string('x00020012') ?? '')).toBe(true);
    expect(meta.string('x00020013')).toBe('ECGCAD_0_1');
  });

  it('stores one RHYTHM ORIGINAL group of 12 SS channels with SCPECG codes, uV sensitivity and the samples', () => {
    const bytes = writeDicomEcg(ecg);
    const ds = parse(bytes);
    expect(ds.string('x00080016')).toBe(TWELVE_LEAD_ECG_SOP_CLASS);
    expect(ds.string('x00080018')).toBe(ds.string('x00020003'));
    expect(ds.string('x00080060')).toBe('ECG');
    expect(ds.string('x00100010')).toBe('SYNTHETIC^ECG-42');
    expect(ds.string('x00100020')).toBe('SYN-42');
    expect(ds.elements.x00200060).toBeUndefined(); // no empty Laterality
    const g = group(ds);
    expect(g.elements.x00181068).toBeUndefined(); // no MultiplexGroupTimeOffset
    expect(g.string('x003a0004')).toBe('ORIGINAL');
    expect(g.string('x003a0020')).toBe('RHYTHM');
    expect(g.uint16('x003a0005')).toBe(12);
    expect(g.uint32('x003a0010')).toBe(5000);
    expect(g.floatString('x003a001a')).toBe(500);
    expect(g.string('x54001006')).toBe('SS');
    const channels = g.elements.x003a0200?.items ?? [];
    const codes = channels.map((c) => c.dataSet?.elements.x003a0208?.items?.[0]?.dataSet?.string('x00080100'));
    expect(codes).toEqual([
      '5.6.3-9-1',
      '5.6.3-9-2',
      '5.6.3-9-61',
      '5.6.3-9-62',
      '5.6.3-9-63',
      '5.6.3-9-64',
      '5.6.3-9-3',
      '5.6.3-9-4',
      '5.6.3-9-5',
      '5.6.3-9-6',
      '5.6.3-9-7',
      '5.6.3-9-8',
    ]);
    const first = channels[0]?.dataSet;
    expect(first?.floatString('x003a0210')).toBe(2.5);
    expect(first?.elements.x003a0211?.items?.[0]?.dataSet?.string('x00080100')).toBe('uV');
    const raw = samples(bytes, ds);
    const ii = ecg.leads.II as Float32Array;
    for (let s = 0; s < 5000; s += 97) expect(raw[s * 12 + 1]).toBe(Math.round((ii[s] as number) / 2.5) + 0);
  });

  it('stores only I, II, V1-V6 when asked for 8 leads', () => {
    const bytes = writeDicomEcg(ecg, { leads: 8, resolutionUv: 1 });
    const g = group(parse(bytes));
    expect(g.uint16('x003a0005')).toBe(8);
    const labels = (g.elements.x003a0200?.items ?? []).map((c) => c.dataSet?.string('x003a0203'));
    expect(labels).toEqual(['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']);
    const v6 = ecg.leads.V6 as Float32Array;
    const raw = samples(bytes, parse(bytes));
    for (let s = 0; s < 5000; s += 101) expect(raw[s * 8 + 7]).toBe(Math.round(v6[s] as number) + 0);
  });

  it('derives UIDs from the record id: same record, same UIDs; a site root is used when given', () => {
    const a = parse(writeDicomEcg(ecg));
    const b = parse(writeDicomEcg(ecg));
    const other = parse(writeDicomEcg(synthesizeEcg({ seed: 43 })));
    expect(a.string('x00080018')).toBe(b.string('x00080018'));
    expect(a.string('x00080018')).not.toBe(other.string('x00080018'));
    expect(a.string('x00080018')).toMatch(/^2\.25\.[1-9][0-9]*$/);
    for (const t of ['x00080018', 'x0020000d', 'x0020000e']) expect(isValidUid(a.string(t) ?? '')).toBe(true);
    const rooted = parse(writeDicomEcg(ecg, { uidRoot: '1.2.826.0.1.3680043.10.999' }));
    expect(rooted.string('x00080018')).toMatch(/^1\.2\.826\.0\.1\.3680043\.10\.999\.1\.[1-9][0-9]*$/);
    expect(() => writeDicomEcg(ecg, { uidRoot: '1.02.3' })).toThrow(ConfigError);
  });

  it('keeps a record id that is already a UID as the SOP Instance UID', () => {
    const ds = parse(writeDicomEcg({ ...ecg, id: '1.2.3.4.5' }));
    expect(ds.string('x00080018')).toBe('1.2.3.4.5');
  });

  it('falls back to General ECG storage outside the 12-lead IOD limits', () => {
    const fast = synthesizeEcg({ seed: 1, sampleRateHz: 2000, durationS: 2 });
    expect(parse(writeDicomEcg(fast)).string('x00080016')).toBe(GENERAL_ECG_SOP_CLASS);
    const long = synthesizeEcg({ seed: 1, sampleRateHz: 1000, durationS: 20 });
    expect(parse(writeDicomEcg(long)).string('x00080016')).toBe(GENERAL_ECG_SOP_CLASS);
  });

  it('saturates out-of-range samples at +-32767, writes NaN as 0, and declares UTF-8 for non-ASCII names', () => {
    const n = 1000;
    const leads: Ecg['leads'] = {
      I: new Float32Array(n).fill(1e6),
      II: new Float32Array(n).fill(-1e6),
      V1: new Float32Array(n).fill(Number.NaN),
    };
    const odd: Ecg = { ...ecg, patient: { name: 'MÜLLER^JOSÉ' }, leads, sampleRateHz: 500 };
    const bytes = writeDicomEcg(odd, { leads: 8 });
    const ds = parse(bytes);
    expect(ds.string('x00080005')).toBe('ISO_IR 192');
    const raw = samples(bytes, ds);
    expect([raw[0], raw[1], raw[2]]).toEqual([32767, -32767, 0]);
    expect(group(ds).uint16('x003a0005')).toBe(3);
  });

  it('refuses bad options with a ConfigError', () => {
    expect(() => writeDicomEcg(ecg, { resolutionUv: 0 })).toThrow(ConfigError);
    expect(() => writeDicomEcg(ecg, { filters: { highHz: Number.NaN } })).toThrow(/filters.highHz/);
  });

  it('refuses a record without samples', () => {
    expect(() => writeDicomEcg({ ...ecg, leads: {} })).toThrow(MalformedInputError);
    expect(() => writeDicomEcg({ ...ecg, leads: { I: new Float32Array(10), II: new Float32Array(11) } })).toThrow(
      MalformedInputError,
    );
  });
});
