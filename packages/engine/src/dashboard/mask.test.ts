import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASK, MAX_TEXT, maskJobData, maskJobName, maskText, patientValuesOf } from './mask.js';

/** Patient values that look like ids (they would pass the safe-value pattern): masking must go by structure. */
const idLike = fc.stringMatching(/^[A-Z0-9]{6,12}$/);
const patient = fc.record(
  {
    identifier: idLike,
    identifierSystem: fc.constantFrom('urn:oid:1.2.3.4', 'https://example.org/mrn'),
    name: fc.tuple(idLike, idLike).map(([family, given]) => `${family}^${given}`),
    birthDate: fc
      .date({ min: new Date('1920-01-01'), max: new Date('2020-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    sex: fc.constantFrom('male', 'female', 'other', 'unknown'),
  },
  { requiredKeys: [] },
);

/** Write job data as the infer worker queues it, with arbitrary extra fields anywhere. */
const writeJob = fc.record({
  prediction: fc.record({
    status: fc.constantFrom('scored', 'not-analysable'),
    ecg: fc.record({
      id: fc.stringMatching(/^1\.2\.840\.[0-9.]{1,20}$/),
      format: fc.constant('dicom'),
      sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
      feed: fc.constantFrom('http', 'cstore', 'folder'),
      receivedAt: fc.constant('2026-01-02T03:04:05.000Z'),
      patient,
      device: fc.record({ manufacturer: fc.string(), model: fc.string() }),
      sampleRateHz: fc.integer({ min: 100, max: 1000 }),
      leads: fc.constant(['I', 'II', 'V1']),
      extra: fc.jsonValue(),
    }),
    reasons: fc.array(fc.string()),
  }),
});

function leavesOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(leavesOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leavesOf);
  return [value];
}

describe('maskJobData', () => {
  it('no field of a patient object survives, wherever the patient sits', () => {
    fc.assert(
      fc.property(writeJob, fc.jsonValue(), patient, (job, other, second) => {
        // A second patient object at an arbitrary place: the rule goes by the key, not the path.
        const data = { ...job, other, nested: [{ deeper: { patient: second } }] };
        const masked = maskJobData(data) as typeof job & { nested: Array<{ deeper: { patient: object } }> };
        const text = JSON.stringify(masked);
        // Identifier, name (and its parts), birth date: none appears anywhere in what is shown. (Sex codes are
        // common words, `other` may well be a key: the structural check below covers them.)
        const { sex: _a, ...first } = job.prediction.ecg.patient;
        const { sex: _b, ...next } = second;
        for (const value of patientValuesOf({ patient: [first, next] })) expect(text).not.toContain(value);
        expect(leavesOf(masked.prediction.ecg.patient).every((leaf) => leaf === MASK)).toBe(true);
        expect(leavesOf(masked.nested[0]?.deeper.patient).every((leaf) => leaf === MASK)).toBe(true);
        // The keys stay, so an operator sees which fields were there.
        expect(Object.keys(masked.prediction.ecg.patient).sort()).toEqual(
          Object.keys(job.prediction.ecg.patient).sort(),
        );
      }),
    );
  });

  it('keeps ids, codes, times and numbers; masks free text (device, reasons, file names)', () => {
    const masked = maskJobData({
      prediction: {
        status: 'scored',
        ecg: {
          id: '1.2.3.4',
          sha256: 'ab'.repeat(32),
          receivedAt: '2026-01-02T03:04:05.000Z',
          leads: ['I', 'II'],
          sampleRateHz: 500,
          device: { manufacturer: 'ACME Cardio', model: 'X1' },
          patient: { identifier: 'MRN-1', name: 'Doe^Jane', birthDate: '1950-02-03', sex: 'female' },
        },
        vessels: [{ vessel: 'LAD', probability: 0.25, stratum: 'low' }],
        reasons: ['lead V3 flat'],
      },
      payloadKey: 'payload:abc',
      name: 'Doe_Jane_ecg.xml',
      id: 'has a space',
    });
    expect(masked).toEqual({
      prediction: {
        status: 'scored',
        ecg: {
          id: '1.2.3.4',
          sha256: 'ab'.repeat(32),
          receivedAt: '2026-01-02T03:04:05.000Z',
          leads: ['I', 'II'],
          sampleRateHz: 500,
          device: { manufacturer: MASK, model: MASK },
          patient: { identifier: MASK, name: MASK, birthDate: MASK, sex: MASK },
        },
        vessels: [{ vessel: 'LAD', probability: 0.25, stratum: 'low' }],
        reasons: [MASK],
      },
      payloadKey: 'payload:abc',
      name: MASK,
      id: MASK,
    });
  });

  it('masks a patient that is not an object, and anything nested too deep', () => {
    expect(maskJobData({ patient: 'Doe^Jane' })).toEqual({ patient: MASK });
    let deep: unknown = { id: 'x' };
    for (let i = 0; i < 20; i++) deep = { id: 'a', next: deep };
    expect(JSON.stringify(maskJobData(deep))).toContain(MASK);
  });
});

describe('maskText', () => {
  it('cuts every patient value out of a reason, case insensitively, whatever surrounds it', () => {
    fc.assert(
      fc.property(patient, fc.array(fc.string(), { minLength: 1, maxLength: 6 }), (p, filler) => {
        const values = patientValuesOf({ patient: p });
        const pieces = [...Object.values(p), ...values.map((v) => v.toLowerCase())];
        const text = filler.map((f, i) => `${f}${pieces[i % Math.max(1, pieces.length)] ?? ''}`).join(' ');
        const out = maskText(`PERMANENT: EHR answered 400: ${text}`, values);
        for (const value of values) if (value.length >= 3) expect(out.toLowerCase()).not.toContain(value.toLowerCase());
        expect(out.startsWith('PERMANENT: EHR answered 400: ')).toBe(true);
      }),
    );
  });

  it('knows name parts and compact dates, and trims long text', () => {
    const values = patientValuesOf({ prediction: { ecg: { patient: { name: 'Doe^Jane', birthDate: '1950-02-03' } } } });
    expect(maskText('Patient JANE DOE born 19500203 not found', values)).toBe('Patient *** *** born *** not found');
    expect(maskText('x'.repeat(5000), []).length).toBe(MAX_TEXT + 3);
  });
});

describe('maskJobName', () => {
  it('keeps a plain job name and hides anything else', () => {
    expect(maskJobName('write')).toBe('write');
    expect(maskJobName('Doe Jane')).toBe('job');
    expect(maskJobName(undefined)).toBe('job');
  });
});
