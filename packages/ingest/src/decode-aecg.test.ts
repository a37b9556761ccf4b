import { LimitExceededError, MalformedInputError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { decodeAecg, parseDigits } from './decode-aecg.js';

const meta = { feed: 'test', receivedAt: '2024-01-01T00:00:00Z' };

interface LeadXml {
  code: string;
  digits: string;
  origin?: string;
  scale?: string;
}

function aecg(opts: {
  leads: LeadXml[];
  increment?: string;
  timeCode?: string;
  seriesCode?: string;
  median?: LeadXml[];
  idExtension?: string;
}): string {
  const seq = (l: LeadXml) => `
      <component><sequence>
        <code code="${l.code}" codeSystem="2.16.840.1.113883.6.24"/>
        <value xsi:type="SLIST_PQ">${l.origin ?? '<origin value="0" unit="uV"/>'}${l.scale ?? '<scale value="2.5" unit="uV"/>'}
          <digits>${l.digits}</digits></value>
      </sequence></component>`;
  const time = (code: string, type: string) => `
      <component><sequence>
        <code code="${code}" codeSystem="2.16.840.1.113883.5.4"/>
        <value xsi:type="${type}"><head value="20240102030405.000"/>${opts.increment ?? '<increment value="0.002" unit="s"/>'}</value>
      </sequence></component>`;
  const median = opts.median
    ? `<derivation><derivedSeries><code code="REPRESENTATIVE_BEAT"/><component><sequenceSet>${time('TIME_RELATIVE', 'GLIST_PQ')}${opts.median.map(seq).join('')}</sequenceSet></component></derivedSeries></derivation>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <id root="1.2.3"${opts.idExtension ? ` extension="${opts.idExtension}"` : ''}/>
  <componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>
    <id root="9.9" extension="SUBJ-1"/>
    <subjectDemographicPerson><name>Someone</name><administrativeGenderCode code="F"/><birthTime value="19600229"/></subjectDemographicPerson>
  </trialSubject></subject></subjectAssignment></componentOf></timepointEvent></componentOf>
  <component><series>
    <code code="${opts.seriesCode ?? 'RHYTHM'}" codeSystem="2.16.840.1.113883.5.4"/>
    <effectiveTime><low value="20240102030405"/></effectiveTime>
    <author><seriesAuthor><manufacturedSeriesDevice><manufacturerModelName>M1</manufacturerModelName></manufacturedSeriesDevice>
      <manufacturerOrganization><name>ACME</name></manufacturerOrganization></seriesAuthor></author>
    ${median}
    <component><sequenceSet>${time(opts.timeCode ?? 'TIME_ABSOLUTE', opts.timeCode === 'TIME_RELATIVE' ? 'GLIST_PQ' : 'GLIST_TS')}${opts.leads.map(seq).join('')}</sequenceSet></component>
  </series></component>
</AnnotatedECG>`;
}

const bytesOf = (s: string) => new TextEncoder().encode(s);

describe('decodeAecg', () => {
  it('decodes the rhythm series, mapping leads by code in any order and case', () => {
    const xml = aecg({
      leads: [
        { code: 'MDC_ECG_LEAD_AVR', digits: '1 2 3' },
        { code: 'mdc_ecg_lead_ii', digits: '-7 -7\n\t-8' },
        { code: 'MDC_ECG_LEAD_aVF', digits: '+4 0 -0' },
        { code: 'MDC_ECG_LEAD_VX', digits: '9 9 9' },
      ],
      median: [{ code: 'MDC_ECG_LEAD_II', digits: '100 100 100' }],
      idExtension: 'EXT',
    });
    const ecg = decodeAecg(bytesOf(xml), meta);
    expect(ecg.id).toBe('1.2.3^EXT');
    expect(ecg.sampleRateHz).toBe(500);
    expect(Object.keys(ecg.leads).sort()).toEqual(['II', 'aVF', 'aVR']);
    expect(Array.from(ecg.leads.II ?? [])).toEqual([-17.5, -17.5, -20]);
    expect(Array.from(ecg.leads.aVR ?? [])).toEqual([2.5, 5, 7.5]);
    expect(Array.from(ecg.leads.aVF ?? [])).toEqual([10, 0, 0]);
    expect(ecg.patient).toEqual({
      identifier: 'SUBJ-1',
      identifierSystem: '9.9',
      name: 'Someone',
      birthDate: '1960-02-29',
      sex: 'female',
    });
    expect(ecg.acquiredAt).toBe('2024-01-02T03:04:05');
    expect(ecg.device).toEqual({ manufacturer: 'ACME', model: 'M1' });
    expect(ecg.source.format).toBe('aecg');
  });

  it('converts origin and scale units (mV) and increments in ms; reads TIME_RELATIVE', () => {
    const xml = aecg({
      timeCode: 'TIME_RELATIVE',
      increment: '<increment value="4" unit="ms"/>',
      leads: [
        {
          code: 'MDC_ECG_LEAD_I',
          digits: '1 -1',
          origin: '<origin value="0.1" unit="mV"/>',
          scale: '<scale value="0.005" unit="mV"/>',
        },
      ],
    });
    const ecg = decodeAecg(bytesOf(xml), meta);
    expect(ecg.sampleRateHz).toBe(250);
    expect(ecg.leads.I?.[0]).toBeCloseTo(105, 4);
    expect(ecg.leads.I?.[1]).toBeCloseTo(95, 4);
  });

  it('cuts leads of different lengths to the shortest', () => {
    const xml = aecg({
      leads: [
        { code: 'MDC_ECG_LEAD_I', digits: '1 2 3 4' },
        { code: 'MDC_ECG_LEAD_II', digits: '1 2' },
      ],
    });
    const ecg = decodeAecg(bytesOf(xml), meta);
    expect(ecg.leads.I?.length).toBe(2);
    expect(ecg.leads.II?.length).toBe(2);
  });

  it('reads UTF-16 documents with a BOM', () => {
    const xml = aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '4 8' }] });
    const utf16 = new Uint8Array(2 + xml.length * 2);
    utf16[0] = 0xff;
    utf16[1] = 0xfe;
    for (let i = 0; i < xml.length; i++) {
      utf16[2 + i * 2] = xml.charCodeAt(i) & 0xff;
      utf16[3 + i * 2] = xml.charCodeAt(i) >> 8;
    }
    expect(Array.from(decodeAecg(utf16, meta).leads.I ?? [])).toEqual([10, 20]);
  });

  it('reads documents whose elements carry a namespace prefix', () => {
    const xml = aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '4 8' }] })
      .replace(/<(\/?)([A-Za-z])/g, '<$1v3:$2')
      .replace('xmlns="urn:hl7-org:v3"', 'xmlns:v3="urn:hl7-org:v3"');
    expect(xml).toContain('<v3:digits>');
    expect(Array.from(decodeAecg(bytesOf(xml), meta).leads.I ?? [])).toEqual([10, 20]);
  });

  it('refuses a document without a RHYTHM series', () => {
    const xml = aecg({ seriesCode: 'REPRESENTATIVE_BEAT', leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1' }] });
    expect(() => decodeAecg(bytesOf(xml), meta)).toThrow(/no RHYTHM waveform/);
  });

  it('refuses bad increments, units and digits with MalformedInputError', () => {
    const cases = [
      aecg({ increment: '<increment value="0" unit="s"/>', leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1' }] }),
      aecg({ increment: '<increment value="abc" unit="s"/>', leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1' }] }),
      aecg({ increment: '<increment value="1" unit="furlong"/>', leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1' }] }),
      aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1', scale: '<scale value="1" unit="mmHg"/>' }] }),
      aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1 2x 3' }] }),
      aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '' }] }),
      aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1', scale: '' }] }),
    ];
    for (const xml of cases) expect(() => decodeAecg(bytesOf(xml), meta)).toThrow(MalformedInputError);
  });

  it('never echoes free text from the file in an error message', () => {
    const hostile = aecg({
      increment: '<increment value="1" unit="Doe, Jane born 1960-01-01"/>',
      leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1' }],
    });
    expect(() => decodeAecg(bytesOf(hostile), meta)).toThrow(/unit "\(unreadable value\)" is not a time unit/);
    const plain = aecg({
      increment: '<increment value="1" unit="furlong"/>',
      leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1' }],
    });
    expect(() => decodeAecg(bytesOf(plain), meta)).toThrow(/unit "furlong"/);
  });

  it('enforces the sample-rate and duration limits', () => {
    const fast = aecg({
      increment: '<increment value="0.00001" unit="s"/>',
      leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1' }],
    });
    expect(() => decodeAecg(bytesOf(fast), meta)).toThrow(LimitExceededError);
    const long = aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1 2 3 4 5 6' }] });
    expect(() => decodeAecg(bytesOf(long), meta, { maxDurationS: 0.01 })).toThrow(/duration limit/);
  });

  it('does not expand entities or fetch a DOCTYPE', () => {
    const xml = aecg({ leads: [{ code: 'MDC_ECG_LEAD_I', digits: '1 2' }] }).replace(
      '<!-- a comment before the root -->',
      '<!DOCTYPE AnnotatedECG [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    );
    const ecg = decodeAecg(bytesOf(xml.replace('<name>Someone</name>', '<name>&b;</name>')), meta);
    expect(ecg.patient.name).toBe('&b;');
  });

  it('refuses nesting deeper than the limit', () => {
    const deep = `<AnnotatedECG xmlns="urn:hl7-org:v3">${'<x>'.repeat(200)}${'</x>'.repeat(200)}</AnnotatedECG>`;
    expect(() => decodeAecg(bytesOf(deep), meta)).toThrow(MalformedInputError);
  });
});

describe('parseDigits', () => {
  it('parses signed integers, fractions and exponents with origin and scale', () => {
    expect(Array.from(parseDigits(' 1 -2 +3\n4.5 1e1 ', 1, 2, 100))).toEqual([3, -3, 7, 10, 21]);
  });
  it('rejects anything else and too many values', () => {
    expect(() => parseDigits('1 - 2', 0, 1, 100)).toThrow(MalformedInputError);
    expect(() => parseDigits('1,2', 0, 1, 100)).toThrow(MalformedInputError);
    expect(() => parseDigits('1.2.3', 0, 1, 100)).toThrow(MalformedInputError);
    expect(() => parseDigits('1 2 3', 0, 1, 2)).toThrow(MalformedInputError);
  });
});
