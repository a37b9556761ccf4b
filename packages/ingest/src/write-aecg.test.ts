import { ConfigError, type Ecg, MalformedInputError, synthesizeEcg } from '@ecgcad/ecg';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { ECGCAD_AECG_ID_ROOT, writeAecg } from './write-aecg.js';

const text = (bytes: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(bytes);

interface Sequence {
  code: { '@_code': string };
  value: {
    '@_xsi:type': string;
    head?: { '@_value': string };
    increment?: { '@_value': string; '@_unit': string };
    origin?: { '@_value': string; '@_unit': string };
    scale?: { '@_value': string; '@_unit': string };
    digits?: string;
  };
}

/** Reads the sequences with fast-xml-parser (independent of this package's decoder). */
function sequences(xml: string): Sequence[] {
  const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml);
  const comps = doc.AnnotatedECG.component.series.component.sequenceSet.component;
  return (Array.isArray(comps) ? comps : [comps]).map((c: { sequence: Sequence }) => c.sequence);
}

describe('writeAecg', () => {
  const ecg = synthesizeEcg({ seed: 42 });

  it('writes well-formed UTF-8 XML with an AnnotatedECG root in urn:hl7-org:v3', () => {
    const xml = text(writeAecg(ecg));
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<AnnotatedECG xmlns="urn:hl7-org:v3"/);
    expect(xml).toContain(`<id root="${ECGCAD_AECG_ID_ROOT}" extension="synthetic:42"/>`);
    expect(xml).toContain('extension="SYN-42"');
    expect(xml).toContain('<name>SYNTHETIC^ECG-42</name>');
    expect(xml).toContain('<center value="20260101080000.000+0000"/>');
  });

  it('has a TIME_ABSOLUTE GLIST_TS and one SLIST_PQ per lead whose digits are the samples / scale', () => {
    const seqs = sequences(text(writeAecg(ecg)));
    expect(seqs).toHaveLength(13);
    const time = seqs[0] as Sequence;
    expect(time.code['@_code']).toBe('TIME_ABSOLUTE');
    expect(time.value['@_xsi:type']).toBe('GLIST_TS');
    expect(time.value.head?.['@_value']).toBe('20260101080000.000+0000');
    expect(time.value.increment).toEqual({ '@_value': '0.002', '@_unit': 's' });
    const codes = seqs.slice(1).map((s) => s.code['@_code']);
    expect(codes).toEqual([
      'MDC_ECG_LEAD_I',
      'MDC_ECG_LEAD_II',
      'MDC_ECG_LEAD_III',
      'MDC_ECG_LEAD_AVR',
      'MDC_ECG_LEAD_AVL',
      'MDC_ECG_LEAD_AVF',
      'MDC_ECG_LEAD_V1',
      'MDC_ECG_LEAD_V2',
      'MDC_ECG_LEAD_V3',
      'MDC_ECG_LEAD_V4',
      'MDC_ECG_LEAD_V5',
      'MDC_ECG_LEAD_V6',
    ]);
    const ii = seqs[2] as Sequence;
    expect(ii.value['@_xsi:type']).toBe('SLIST_PQ');
    expect(ii.value.origin).toEqual({ '@_value': '0', '@_unit': 'uV' });
    expect(ii.value.scale).toEqual({ '@_value': '2.5', '@_unit': 'uV' });
    const digits = (ii.value.digits ?? '').trim().split(/\s+/).map(Number);
    expect(digits).toHaveLength(5000);
    const samples = ecg.leads.II as Float32Array;
    digits.forEach((d, s) => {
      expect(d).toBe(Math.round((samples[s] as number) / 2.5) + 0);
    });
  });

  it('writes 8 leads and a 1000 Hz increment when asked', () => {
    const fast = synthesizeEcg({ seed: 3, sampleRateHz: 1000, durationS: 5 });
    const seqs = sequences(text(writeAecg(fast, { leads: 8, resolutionUv: 1 })));
    expect(seqs.map((s) => s.code['@_code'].replace('MDC_ECG_LEAD_', ''))).toEqual([
      'TIME_ABSOLUTE',
      'I',
      'II',
      'V1',
      'V2',
      'V3',
      'V4',
      'V5',
      'V6',
    ]);
    expect(seqs[0]?.value.increment?.['@_value']).toBe('0.001');
    expect(seqs[1]?.value.scale?.['@_value']).toBe('1');
    expect((seqs[1]?.value.digits ?? '').trim().split(' ')).toHaveLength(5000);
  });

  it('splits a root^extension id back into its parts and keeps a bare OID or UUID as the root', () => {
    expect(text(writeAecg({ ...ecg, id: '1.2.3^abc' }))).toContain('<id root="1.2.3" extension="abc"/>');
    const uuid = '61d1a24f-b47e-41aa-ae95-f8ac302f4eeb';
    expect(text(writeAecg({ ...ecg, id: uuid }))).toContain(`<id root="${uuid}"/>`);
  });

  it('escapes markup and drops characters XML cannot carry in names', () => {
    const odd: Ecg = { ...ecg, patient: { name: 'A<B>&"C"\u0001D', identifier: 'x&y' }, device: { model: 'm<1>' } };
    const xml = text(writeAecg(odd));
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<name>A&lt;B&gt;&amp;&quot;C&quot;D</name>');
    expect(xml).toContain('extension="x&amp;y"');
  });

  it('saturates at +-32767 digits and refuses a record without samples', () => {
    const n = 10;
    const loud: Ecg = { ...ecg, leads: { I: new Float32Array(n).fill(1e9), II: new Float32Array(n).fill(-1e9) } };
    const seqs = sequences(text(writeAecg(loud, { leads: 8 })));
    expect(seqs[1]?.value.digits?.split(' ')[0]).toBe('32767');
    expect(seqs[2]?.value.digits?.split(' ')[0]).toBe('-32767');
    expect(() => writeAecg({ ...ecg, leads: {} })).toThrow(MalformedInputError);
  });

  it('refuses bad options with a ConfigError', () => {
    expect(() => writeAecg(ecg, { resolutionUv: -1 })).toThrow(ConfigError);
    expect(() => writeAecg(ecg, { idRoot: 'not a root' })).toThrow(ConfigError);
  });
});
