import { MalformedInputError, UnsupportedFormatError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { decodeEcg } from './decode.js';
import { decodeMuse } from './decode-muse.js';
import { refusePhilips } from './decode-philips.js';

const meta = { feed: 'test', receivedAt: '2024-01-01T00:00:00Z' };
const enc = (s: string) => new TextEncoder().encode(s);

function int16Base64(values: number[]): string {
  const buf = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => {
    buf.writeInt16LE(v, i * 2);
  });
  return buf.toString('base64');
}

function muse(
  leads: Array<{ id: string; values: number[]; perBit?: string; units?: string }>,
  rhythm = 'Rhythm',
): string {
  const lead = (l: (typeof leads)[number]) => `<LeadData>
      <LeadSampleCountTotal>${l.values.length}</LeadSampleCountTotal>
      <LeadAmplitudeUnitsPerBit>${l.perBit ?? '4.88'}</LeadAmplitudeUnitsPerBit>
      <LeadAmplitudeUnits>${l.units ?? 'MICROVOLTS'}</LeadAmplitudeUnits>
      <LeadID>${l.id}</LeadID>
      <WaveFormData>${int16Base64(l.values).replace(/(.{20})/g, '$1\n')}</WaveFormData></LeadData>`;
  return `<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE RestingECG SYSTEM "restecg.dtd">
<RestingECG>
  <PatientDemographics><PatientID>X1</PatientID><DateofBirth>02-29-1960</DateofBirth><Gender>MALE</Gender></PatientDemographics>
  <TestDemographics><AcquisitionDevice>MAC</AcquisitionDevice><AcquisitionTime>08:09:10</AcquisitionTime><AcquisitionDate>12-31-2020</AcquisitionDate></TestDemographics>
  <Waveform><WaveformType>Median</WaveformType><SampleBase>500</SampleBase><SampleExponent>0</SampleExponent>${lead({ id: 'I', values: [99, 99] })}</Waveform>
  <Waveform><WaveformType>${rhythm}</WaveformType><SampleBase>25</SampleBase><SampleExponent>1</SampleExponent>${leads.map(lead).join('')}</Waveform>
</RestingECG>`;
}

describe('decodeMuse', () => {
  it('decodes the Rhythm waveform with units per bit, and demographics', () => {
    const bytes = enc(
      muse([
        { id: 'I', values: [1, -2, 3] },
        { id: 'II', values: [-22, 0, 32767], perBit: '1', units: 'MILLIVOLTS' },
      ]),
    );
    const ecg = decodeEcg(bytes, meta);
    expect(ecg.source.format).toBe('ge-muse');
    expect(ecg.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ecg.sampleRateHz).toBe(250);
    expect(Array.from(ecg.leads.I ?? []).map((v) => Math.round(v * 100) / 100)).toEqual([4.88, -9.76, 14.64]);
    expect(Array.from(ecg.leads.II ?? [])).toEqual([-22000, 0, 32767000]);
    expect(ecg.patient).toEqual({ identifier: 'X1', birthDate: '1960-02-29', sex: 'male' });
    expect(ecg.acquiredAt).toBe('2020-12-31T08:09:10');
    expect(ecg.device).toEqual({ model: 'MAC' });
  });

  it('refuses a file without a Rhythm waveform, or with truncated data', () => {
    expect(() => decodeMuse(enc(muse([{ id: 'I', values: [1] }], 'Other')), meta)).toThrow(/no Rhythm waveform/);
    const truncated = muse([{ id: 'I', values: [1, 2, 3] }]).replace(
      '<LeadSampleCountTotal>3<',
      '<LeadSampleCountTotal>30<',
    );
    expect(() => decodeMuse(enc(truncated), meta)).toThrow(MalformedInputError);
  });
});

describe('refusePhilips', () => {
  it('refuses SierraECG with the XLI message and other document types naming them', () => {
    const doc = (t: string) =>
      enc(
        `<restingecgdata xmlns="http://www3.medical.philips.com"><documentinfo><documenttype>${t}</documenttype></documentinfo></restingecgdata>`,
      );
    expect(() => refusePhilips(doc('SierraECG'))).toThrow(/XLI-compressed waveforms is not supported yet/);
    expect(() => decodeEcg(doc('PhilipsECG'), meta)).toThrow(UnsupportedFormatError);
    expect(() => decodeEcg(doc('MortaraECG'), meta)).toThrow(/documenttype "MortaraECG"/);
  });
});
