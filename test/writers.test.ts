/**
 * The DICOM and aECG writers against independent validators (dcmtk, dicom3tools' dciodvfy, xmllint with the HL7
 * aECG schema) and round trips through the ingest decoders: synthesize -> write -> decodeEcg gives back the
 * generated signal within one quantisation step on every stored lead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveLimbLeads, type Ecg, type LeadName, STANDARD_LEADS, synthesizeEcg } from '@ecgcad/ecg';
import { decodeEcg, type StoredLeads, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AECG_SCHEMA,
  aecgSchemaPresent,
  noteSkip,
  readSample,
  SAMPLES_SKIP_REASON,
  SCHEMA_SKIP_REASON,
  samplesPresent,
} from './support/samples.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);
if (!aecgSchemaPresent) noteSkip(import.meta.url, SCHEMA_SKIP_REASON);

const TWELVE_LEAD = '1.2.840.10008.5.1.4.1.1.9.1.1';
const EIGHT: readonly LeadName[] = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];

const dir = mkdtempSync(join(tmpdir(), 'ecgcad-writers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function save(bytes: Uint8Array, ext: string): string {
  const path = join(dir, `f${fileCount++}.${ext}`);
  writeFileSync(path, bytes);
  return path;
}

/** The pass rule of /work/shared/schemas/README.md for DICOM 12-lead ECG files. */
function checkDicom(path: string): void {
  const ftest = spawnSync('dcmftest', [path], { encoding: 'utf8' });
  expect(ftest.status, ftest.stdout + ftest.stderr).toBe(0);
  expect(ftest.stdout).toContain(`yes: ${path}`);
  const dump = spawnSync('dcmdump', ['-q', '-E', path], { encoding: 'utf8' });
  expect(dump.status, dump.stderr).toBe(0);
  const sop = execFileSync('dcmdump', ['-q', '-Un', '+P', '0008,0016', path], { encoding: 'utf8' });
  expect(sop).toContain(`[${TWELVE_LEAD}]`);
  const iod = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
  const out = `${iod.stdout}${iod.stderr}`;
  expect(iod.status, out).toBe(0);
  expect(out.split('\n').filter((line) => /(^|- )Error - /.test(line))).toEqual([]);
  expect(out.split('\n')).toContain('TwelveLeadECG');
}

/** The pass rule for aECG: exit 0 and "<file> validates". */
function checkAecg(path: string): void {
  const lint = spawnSync('xmllint', ['--noout', '--nonet', '--schema', AECG_SCHEMA, path], { encoding: 'utf8' });
  const errors = lint.stderr.split('\n').filter((line) => line && !line.includes('parser warning'));
  expect(lint.status, errors.join('\n')).toBe(0);
  expect(errors[errors.length - 1]).toBe(`${path} validates`);
}

/** Largest |decoded - original| over the given leads. */
function maxError(original: Ecg, decoded: Ecg, leads: readonly LeadName[]): number {
  let worst = 0;
  for (const name of leads) {
    const a = original.leads[name];
    const b = decoded.leads[name];
    if (!a || !b) throw new Error(`lead ${name} missing after the round trip`);
    expect(b.length).toBe(a.length);
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs((b[k] as number) - (a[k] as number)));
  }
  return worst;
}

describe('writers pass the validators', () => {
  const variants: Array<{ name: string; ecg: Ecg; leads: StoredLeads }> = [
    { name: '500 Hz, 12 leads', ecg: synthesizeEcg({ seed: 1 }), leads: 12 },
    { name: '1000 Hz, 8 leads', ecg: synthesizeEcg({ seed: 2, sampleRateHz: 1000 }), leads: 8 },
    {
      name: 'ST depression, a flat lead, 16 s at 1000 Hz',
      ecg: synthesizeEcg({
        seed: 3,
        sampleRateHz: 1000,
        durationS: 16,
        st: { leads: 'lateral', shiftUv: -200 },
        flatLeads: ['V2'],
      }),
      leads: 12,
    },
    {
      name: 'non-ASCII name and no demographics but a name',
      ecg: { ...synthesizeEcg({ seed: 4, durationS: 2.5 }), patient: { name: 'MÜLLER^ZOË' } },
      leads: 12,
    },
  ];

  it.each(variants)('DICOM ($name) passes dcmftest, dcmdump -E and dciodvfy', ({ ecg, leads }) => {
    checkDicom(save(writeDicomEcg(ecg, { leads }), 'dcm'));
  });

  it('DICOM under a site UID root passes dciodvfy', () => {
    checkDicom(save(writeDicomEcg(synthesizeEcg({ seed: 5 }), { uidRoot: '1.2.826.0.1.3680043.10.999' }), 'dcm'));
  });

  // The schema is a third-party file beside the shared samples: without it this check skips with the reason, and
  // the aECG files are still checked by the round trips below.
  it.skipIf(!aecgSchemaPresent).each(variants)(
    `aECG ($name) validates against PORT_MT020001.xsd${aecgSchemaPresent ? '' : ` (${SCHEMA_SKIP_REASON})`}`,
    ({ ecg, leads }) => {
      checkAecg(save(writeAecg(ecg, { leads }), 'xml'));
    },
  );
});

describe('round trip: synthesize -> write -> decodeEcg', () => {
  const cases: Array<{ format: 'dicom' | 'aecg'; rate: number; leads: StoredLeads }> = [];
  for (const format of ['dicom', 'aecg'] as const) {
    for (const rate of [500, 1000]) for (const leads of [8, 12] as const) cases.push({ format, rate, leads });
  }

  it.each(cases)('$format at $rate Hz with $leads stored leads', ({ format, rate, leads }) => {
    const resolutionUv = 2.5;
    const ecg = synthesizeEcg({ seed: rate + leads, sampleRateHz: rate, heartRateBpm: 65 });
    const bytes =
      format === 'dicom' ? writeDicomEcg(ecg, { leads, resolutionUv }) : writeAecg(ecg, { leads, resolutionUv });
    const decoded = decodeEcg(bytes, { feed: 'test', receivedAt: '2026-01-02T00:00:00Z' });
    expect(decoded.source.format).toBe(format);
    expect(decoded.sampleRateHz).toBe(rate);
    expect(Date.parse(decoded.acquiredAt ?? '')).toBe(Date.parse(ecg.acquiredAt ?? ''));
    expect(decoded.patient.identifier).toBe('SYN-42'.replace('42', String(rate + leads)));
    expect(decoded.patient.name).toBe(ecg.patient.name);
    expect(decoded.patient.sex).toBe(ecg.patient.sex);
    expect(decoded.patient.birthDate).toBe(ecg.patient.birthDate);
    expect(decoded.device.manufacturer).toBe('ecgcad');
    if (format === 'dicom') expect(decoded.source.sopClassUid).toBe(TWELVE_LEAD);
    // Stored leads: rounding to the nearest step, so at most half a step (plus float32 noise).
    const stored = leads === 12 ? STANDARD_LEADS : EIGHT;
    expect(maxError(ecg, decoded, stored)).toBeLessThanOrEqual(resolutionUv / 2 + 1e-3);
    // The decoder returns the stored leads; with 8 the limb leads derived from I and II stay within one step.
    expect(Object.keys(decoded.leads).sort()).toEqual([...stored].sort());
    const full = { ...decoded, leads: deriveLimbLeads(decoded.leads) };
    expect(maxError(ecg, full, STANDARD_LEADS)).toBeLessThanOrEqual(resolutionUv + 1e-3);
  });

  it('the same ECG written twice decodes to the same id; different ECGs to different ids', () => {
    const a = synthesizeEcg({ seed: 77 });
    const b = synthesizeEcg({ seed: 78 });
    const meta = { feed: 'test' };
    for (const write of [writeDicomEcg, writeAecg]) {
      expect(decodeEcg(write(a), meta).id).toBe(decodeEcg(write(a), meta).id);
      expect(decodeEcg(write(a), meta).id).not.toBe(decodeEcg(write(b), meta).id);
    }
  });
});

describe.skipIf(!samplesPresent)(
  `real samples re-written (${samplesPresent ? 'present' : SAMPLES_SKIP_REASON})`,
  () => {
    it('the Mortara 12-lead DICOM sample, decoded and re-written at its own 1.25 uV step, is identical and valid', () => {
      const original = decodeEcg(readSample('dicom_mortara_el250_12lead.dcm'), { feed: 'test' });
      const bytes = writeDicomEcg(original, { resolutionUv: 1.25 });
      checkDicom(save(bytes, 'dcm'));
      const again = decodeEcg(bytes, { feed: 'test' });
      expect(again.id).toBe(original.id);
      expect(maxError(original, again, STANDARD_LEADS)).toBe(0);
    });

    it('the HL7 aECG example, decoded and re-written, validates and keeps every sample', () => {
      const original = decodeEcg(readSample('aecg_hl7_2003_example.xml'), { feed: 'test' });
      const bytes = writeAecg(original);
      checkAecg(save(bytes, 'xml'));
      const again = decodeEcg(bytes, { feed: 'test' });
      expect(again.id).toBe(original.id);
      expect(maxError(original, again, STANDARD_LEADS)).toBe(0);
      // And into DICOM: the example's 2.5 uV step carries over exactly.
      const dicom = decodeEcg(writeDicomEcg(original), { feed: 'test' });
      expect(maxError(original, dicom, STANDARD_LEADS)).toBe(0);
    });

    it('an 8-lead record (GE MUSE sample) is re-written with its 8 leads, or with 12 by deriving the limb leads', () => {
      const muse = decodeEcg(readSample('ge_muse_restingecg_example1.xml'), { feed: 'test' });
      const bytes = writeDicomEcg(muse, { leads: 8, resolutionUv: 4.88 });
      checkDicom(save(bytes, 'dcm'));
      const again = decodeEcg(bytes, { feed: 'test' });
      expect(Object.keys(again.leads)).toEqual([...EIGHT]);
      expect(maxError(muse, again, EIGHT)).toBeLessThan(1e-3);
      // Written as 12 leads, the limb leads are derived from I and II on the way out.
      const twelve = decodeEcg(writeDicomEcg(muse, { resolutionUv: 4.88 }), { feed: 'test' });
      expect(Object.keys(twelve.leads)).toHaveLength(12);
      const derived = { ...muse, leads: deriveLimbLeads(muse.leads) };
      expect(maxError(derived, twelve, STANDARD_LEADS)).toBeLessThanOrEqual(4.88 / 2 + 1e-3);
    });
  },
);
