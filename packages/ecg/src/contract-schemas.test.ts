import { describe, expect, it } from 'vitest';
import { checkInferJobData, checkIngestJobData, checkPrediction, checkWriteJobData } from './contract-schemas.js';
import type { Prediction } from './contracts.js';
import { PermanentError } from './errors.js';

const good: Extract<Prediction, { status: 'scored' }> = {
  status: 'scored',
  ecg: {
    id: '1.2.3.4',
    format: 'dicom',
    sha256: 'ab'.repeat(32),
    feed: 'cstore',
    receivedAt: '2026-11-26T09:00:05Z',
    patient: { identifier: 'MRN-1' },
    device: { manufacturer: 'ACME' },
    sampleRateHz: 500,
    durationS: 10,
    leads: ['I', 'II'],
  },
  model: {
    id: 'demo',
    version: '1.0.0',
    sha256: 'cd'.repeat(32),
    clinicalUse: false,
    intendedUse: 'demo',
    outcome: 'stenosis',
  },
  vessels: [
    { vessel: 'RCA', probability: 0.1, stratum: 'low' },
    { vessel: 'LAD', probability: 0.6, stratum: 'high' },
  ],
  predictedAt: '2026-11-26T09:00:07.250Z',
};
const messageOf = (candidate: unknown, check: (value: unknown) => void = checkPrediction): string => {
  try {
    check(candidate);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(PermanentError);
    return (err as Error).message;
  }
};

describe('checkPrediction', () => {
  it('passes a well-formed scored and not-analysable prediction', () => {
    expect(messageOf(good)).toBe('ok');
    const { vessels: _, ...rest } = good;
    expect(messageOf({ ...rest, status: 'not-analysable', reasons: ['flat line'] })).toBe('ok');
  });

  it('names every bad field, never quoting a value', () => {
    expect(messageOf(42)).toBe('malformed prediction: prediction must be an object');
    expect(messageOf({ ...good, status: 'maybe' })).toBe(
      'malformed prediction: status must be scored or not-analysable',
    );
    expect(messageOf({ ...good, ecg: undefined })).toBe('malformed prediction: ecg is missing');
    expect(
      messageOf({ ...good, model: { ...good.model, id: ' ', clinicalUse: 'yes' }, predictedAt: 'SECRET-now' }),
    ).toBe(
      'malformed prediction: model.id is missing; model.clinicalUse must be a boolean; predictedAt must be an ISO 8601 instant',
    );
    expect(messageOf({ ...good, vessels: [{ vessel: 'PDA', probability: Number.NaN, stratum: 'severe' }] })).toBe(
      'malformed prediction: vessels[0].vessel is not RCA, LM, LAD or LCx; vessels[0].probability must be in [0, 1]; vessels[0].stratum is not a stratum',
    );
    expect(messageOf({ ...good, vessels: [good.vessels[0], good.vessels[0]] })).toBe(
      'malformed prediction: vessels[1].vessel appears twice',
    );
    expect(messageOf({ ...good, vessels: [] })).toBe('malformed prediction: vessels must be a non-empty array');
    expect(messageOf({ ...good, ecg: { ...good.ecg, patient: { identifier: 42 }, device: null } })).toBe(
      'malformed prediction: ecg.patient.identifier must be a string; ecg.device must be an object',
    );
    expect(messageOf({ ...good, status: 'not-analysable', reasons: [1] })).toBe(
      'malformed prediction: reasons[0] must be a string',
    );
  });
});

describe('checkPrediction: attribution', () => {
  const attribution = {
    method: 'occlusion',
    windowS: 1,
    startS: 0,
    leads: ['I', 'II'],
    vessels: {
      RCA: [
        [0.01, -0.002, 0],
        [0, 0, 0.3],
      ],
      LAD: [
        [0, 0, 0],
        [0, 0, 0],
      ],
    },
  };

  it('passes a map with one row per lead and equal window counts', () => {
    expect(messageOf({ ...good, attribution })).toBe('ok');
  });

  it('refuses a map of the wrong shape, an unknown vessel or a non-number', () => {
    expect(messageOf({ ...good, attribution: { ...attribution, vessels: { RCA: [[0, 0, 0]] } } })).toBe(
      'malformed prediction: attribution.vessels.RCA must have one row per lead',
    );
    expect(
      messageOf({
        ...good,
        attribution: {
          ...attribution,
          vessels: {
            RCA: [
              [0, 0, 0],
              [0, 0],
            ],
          },
        },
      }),
    ).toBe('malformed prediction: attribution.vessels.RCA[1] must have as many windows as the others');
    expect(messageOf({ ...good, attribution: { ...attribution, vessels: { PDA: [[0], [0]] } } })).toContain(
      'attribution.vessels',
    );
    expect(
      messageOf({
        ...good,
        attribution: { ...attribution, method: 'shap', windowS: 0, vessels: { RCA: [['x'], [0]] } },
      }),
    ).toBe(
      'malformed prediction: attribution.method must be occlusion; attribution.windowS must be a positive number; attribution.vessels.RCA[0][0] must be a finite number',
    );
  });
});

describe('job data checks', () => {
  it('pass the data the stages write, and name what is wrong with anything else', () => {
    const ingest = { payloadKey: 'k', feed: 'http', receivedAt: '2026-11-26T09:00:05Z' };
    expect(messageOf(ingest, checkIngestJobData)).toBe('ok');
    expect(messageOf({ ...ingest, payloadKey: 7, name: 3 }, checkIngestJobData)).toBe(
      'malformed ingest job data: payloadKey is missing; name must be a string',
    );
    const infer = { ecgId: '1.2.3', sha256: 'ab', payloadKey: 'k', receivedAt: '2026-11-26T09:00:05Z' };
    expect(messageOf(infer, checkInferJobData)).toBe('ok');
    expect(messageOf(null, checkInferJobData)).toBe('malformed infer job data: infer job data must be an object');
    expect(messageOf({ prediction: good }, checkWriteJobData)).toBe('ok');
    expect(messageOf({ prediction: good, payloadKey: 'k' }, checkWriteJobData)).toBe('ok');
    expect(messageOf({ prediction: good, payloadKey: 7 }, checkWriteJobData)).toBe(
      'malformed write job data: payloadKey must be a string',
    );
    expect(messageOf({ prediction: { ...good, vessels: [] } }, checkWriteJobData)).toBe(
      'malformed write job data: prediction.vessels must be a non-empty array',
    );
  });
});
