/**
 * Every file in the shared sample folder decodes to exactly the facts in its SOURCES.md (established there with
 * dcmdump and a plain ElementTree read), or is refused with the right typed error and format.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ecg, type LeadName, MalformedInputError, STANDARD_LEADS, UnsupportedFormatError } from '@ecgcad/ecg';
import { decodeEcg, detectFormat, inspectEcg } from '@ecgcad/ingest';
import { describe, expect, it } from 'vitest';
import {
  noteSkip,
  readSample,
  SAMPLES_DIR as SAMPLES_DIR_PATH,
  SAMPLES_SKIP_REASON,
  samplesPresent,
} from './support/samples.js';
import { commandPresent } from './support/tools.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const meta = { feed: 'file', receivedAt: '2024-01-01T00:00:00.000Z' };
const TWELVE = [...STANDARD_LEADS].sort();
const EIGHT: LeadName[] = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];

interface Facts {
  format: 'dicom' | 'aecg' | 'ge-muse';
  sha256Prefix: string;
  rateHz: number;
  leads: string[];
  samples: number;
  leadII: [number, number, number];
  id?: string | RegExp;
  sopClassUid?: string;
  device?: { manufacturer?: string; model?: string };
  acquiredAt?: string;
}

const DECODES: Record<string, Facts> = {
  'dicom_mortara_el250_12lead.dcm': {
    format: 'dicom',
    sha256Prefix: '72f1cb0e',
    rateHz: 1000,
    leads: TWELVE,
    samples: 10000,
    leadII: [112.5, 106.25, 100.0],
    sopClassUid: '1.2.840.10008.5.1.4.1.1.9.1.1',
    device: { manufacturer: 'Mortara Instrument, Inc.', model: 'el250' },
  },
  'dicom_gemarquette_maclab_hemodynamic_12ch.dcm': {
    format: 'dicom',
    sha256Prefix: '18e76eb6',
    rateHz: 240,
    leads: TWELVE,
    samples: 2400,
    leadII: [58.56, 58.56, 56.12],
    sopClassUid: '1.2.840.10008.5.1.4.1.1.9.2.1',
    device: { manufacturer: 'GE Marquette', model: 'MACLB' },
    acquiredAt: '1999-12-23T10:07:09',
  },
  'aecg_hl7_2003_example.xml': {
    format: 'aecg',
    sha256Prefix: '36d2e5f7',
    rateHz: 500,
    leads: TWELVE,
    samples: 5000,
    leadII: [-17.5, -17.5, -17.5],
    acquiredAt: '2002-11-22T09:10:00',
  },
  'aecg_liryc_100hz_example.xml': {
    format: 'aecg',
    sha256Prefix: '1392c280',
    rateHz: 100,
    leads: TWELVE,
    samples: 1000,
    leadII: [-160, -150, -140],
    id: '755.3045256.2025923.103550',
    acquiredAt: '2025-09-23T10:35:50',
  },
  'aecg_fda_minimum_1lead.xml': {
    format: 'aecg',
    sha256Prefix: 'cb35c158',
    rateHz: 500,
    leads: ['II'],
    samples: 13,
    leadII: [-5, -5, -5],
    id: '61d1a24f-b47e-41aa-ae95-f8ac302f4eeb',
  },
  'ge_muse_restingecg_example1.xml': {
    format: 'ge-muse',
    sha256Prefix: '4f2479ad',
    rateHz: 500,
    leads: [...EIGHT].sort(),
    samples: 5000,
    leadII: [-107.36, -107.36, -107.36],
    id: /^sha256:4f2479ad/,
  },
};

const REFUSALS: Record<
  string,
  { error: typeof MalformedInputError | typeof UnsupportedFormatError; format: string; message: RegExp }
> = {
  'aecg_fda_empty_no_waveform.xml': { error: MalformedInputError, format: 'aecg', message: /no RHYTHM waveform/ },
  'philips_sierraecg_1_03_129DYPRG.xml': {
    error: UnsupportedFormatError,
    format: 'philips-sierra',
    message: /XLI-compressed waveforms is not supported yet/,
  },
  'philips_sierraecg_1_04_utf16.xml': {
    error: UnsupportedFormatError,
    format: 'philips-sierra',
    message: /XLI-compressed waveforms is not supported yet/,
  },
  'philips_invalid_doctype_mortaraecg.xml': {
    error: UnsupportedFormatError,
    format: 'philips-sierra',
    message: /documenttype "MortaraECG"/,
  },
};

function expectClose(actual: ArrayLike<number> | undefined, expected: number[]): void {
  expect(actual).toBeDefined();
  expected.forEach((v, i) => {
    expect(actual?.[i]).toBeCloseTo(v, 3);
  });
}

describe.skipIf(!samplesPresent)(
  `sample files decode to their SOURCES.md facts${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`,
  () => {
    it('covers every sample file', () => {
      const files = readdirSync(SAMPLES_DIR_PATH).filter((f) => f !== 'SOURCES.md');
      expect(files.sort()).toEqual([...Object.keys(DECODES), ...Object.keys(REFUSALS)].sort());
    });

    for (const [name, facts] of Object.entries(DECODES)) {
      it(`${name}: ${facts.format}, ${facts.rateHz} Hz, ${facts.leads.length} leads x ${facts.samples}`, () => {
        const bytes = readSample(name);
        expect(detectFormat(bytes)).toBe(facts.format);
        const ecg: Ecg = decodeEcg(bytes, meta);
        expect(ecg.source.format).toBe(facts.format);
        expect(ecg.source.sha256.startsWith(facts.sha256Prefix)).toBe(true);
        expect(ecg.source.feed).toBe('file');
        expect(ecg.source.receivedAt).toBe(meta.receivedAt);
        expect(ecg.sampleRateHz).toBe(facts.rateHz);
        expect(Object.keys(ecg.leads).sort()).toEqual(facts.leads);
        for (const lead of Object.values(ecg.leads)) expect(lead?.length).toBe(facts.samples);
        expectClose(ecg.leads.II, facts.leadII);
        if (facts.id instanceof RegExp) expect(ecg.id).toMatch(facts.id);
        else if (facts.id) expect(ecg.id).toBe(facts.id);
        if (facts.sopClassUid) expect(ecg.source.sopClassUid).toBe(facts.sopClassUid);
        if (facts.device) expect(ecg.device).toEqual(facts.device);
        if (facts.acquiredAt) expect(ecg.acquiredAt).toBe(facts.acquiredAt);
      });
    }

    it('dicom_mortara_el250_12lead.dcm: uses the RHYTHM group, not the 1200-sample median beat; SOP instance UID is the id', () => {
      const ecg = decodeEcg(readSample('dicom_mortara_el250_12lead.dcm'), meta);
      expect(ecg.leads.I?.length).toBe(10000);
      expect(ecg.id).toMatch(/^1\.3\.6\.1\.4\.1\.20029\./);
      expect(ecg.patient.name).toBe('Anonymous');
    });

    it('aecg_hl7_2003_example.xml: maps the unusual lead order by code (every lead 2.5 uV per digit)', () => {
      const ecg = decodeEcg(readSample('aecg_hl7_2003_example.xml'), meta);
      // Every value is origin 0 + 2.5 * an integer: nothing was mixed up with a 599-sample median beat.
      for (const lead of Object.values(ecg.leads)) {
        expect(lead?.length).toBe(5000);
        for (const v of lead?.subarray(0, 200) ?? []) expect(Number.isInteger(v / 2.5)).toBe(true);
      }
    });

    for (const [name, refusal] of Object.entries(REFUSALS)) {
      it(`${name}: refused with ${refusal.error.name} (${refusal.format})`, () => {
        const bytes = readSample(name);
        expect(detectFormat(bytes)).toBe(refusal.format);
        let caught: unknown;
        try {
          decodeEcg(bytes, meta);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(refusal.error);
        expect((caught as { format: string }).format).toBe(refusal.format);
        expect((caught as Error).message).toMatch(refusal.message);
      });
    }

    it('inspectEcg reports the stored leads and the quality verdict in the agreed JSON shape', () => {
      const report = inspectEcg(readSample('aecg_hl7_2003_example.xml'));
      expect(report).toMatchObject({
        format: 'aecg',
        sampleRateHz: 500,
        durationS: 10,
        quality: { analysable: true, reasons: [] },
      });
      expect(report.leads.II).toEqual({ samples: 5000, firstUv: [-17.5, -17.5, -17.5] });
      expect(Object.keys(report.leads)).toHaveLength(12);

      const muse = inspectEcg(readSample('ge_muse_restingecg_example1.xml'));
      expect(Object.keys(muse.leads)).toEqual(EIGHT); // derived leads are not listed
      expect(muse.leads.II?.firstUv).toEqual([-107.36, -107.36, -107.36]);

      const hemo = inspectEcg(readSample('dicom_gemarquette_maclab_hemodynamic_12ch.dcm'));
      expect(hemo.leads.II?.firstUv).toEqual([58.56, 58.56, 56.12]);

      const minimum = inspectEcg(readSample('aecg_fda_minimum_1lead.xml'));
      expect(minimum.quality.analysable).toBe(false);
      expect(minimum.quality.reasons.length).toBeGreaterThan(0);
    });
  },
);

/** dcmtk's dcmconv re-encodes the real DICOM samples in every transfer syntax the decoder reads (and one it refuses). */
const dcmconvPresent = commandPresent('dcmconv');

describe.skipIf(!samplesPresent || !dcmconvPresent)(
  `DICOM samples re-encoded by dcmtk decode to the same Ecg${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}${dcmconvPresent ? '' : ' (dcmconv not installed)'}`,
  () => {
    const variants: Array<[string, string[]]> = [
      ['implicit VR little endian', ['+ti']],
      ['explicit VR big endian', ['+tb']],
      ['bare data set, implicit VR (as DIMSE sends it)', ['-F', '+ti']],
      ['bare data set, explicit VR', ['-F', '+te']],
    ];
    for (const name of ['dicom_mortara_el250_12lead.dcm', 'dicom_gemarquette_maclab_hemodynamic_12ch.dcm']) {
      for (const [label, args] of variants) {
        it(`${name}: ${label}`, () => {
          const dir = mkdtempSync(join(tmpdir(), 'ecgcad-dcmconv-'));
          const out = join(dir, 'out.dcm');
          execFileSync('dcmconv', [...args, join(SAMPLES_DIR_PATH, name), out]);
          const converted = new Uint8Array(readFileSync(out));
          expect(detectFormat(converted)).toBe('dicom');
          const original = decodeEcg(readSample(name), meta);
          const ecg = decodeEcg(converted, meta);
          expect(ecg.id).toBe(original.id);
          expect(ecg.sampleRateHz).toBe(original.sampleRateHz);
          expect(ecg.patient).toEqual(original.patient);
          expect(ecg.device).toEqual(original.device);
          expect(ecg.acquiredAt).toBe(original.acquiredAt);
          expect(Object.keys(ecg.leads)).toEqual(Object.keys(original.leads));
          for (const [lead, samples] of Object.entries(original.leads)) {
            expect(ecg.leads[lead as LeadName], lead).toEqual(samples);
          }
        });
      }
      it(`${name}: deflated transfer syntax is refused, naming it`, () => {
        const dir = mkdtempSync(join(tmpdir(), 'ecgcad-dcmconv-'));
        const out = join(dir, 'out.dcm');
        execFileSync('dcmconv', ['+td', join(SAMPLES_DIR_PATH, name), out]);
        expect(() => decodeEcg(new Uint8Array(readFileSync(out)), meta)).toThrow(
          /transfer syntax 1\.2\.840\.10008\.1\.2\.1\.99 \(Deflated Explicit VR Little Endian\) is not supported/,
        );
      });
    }
  },
);
