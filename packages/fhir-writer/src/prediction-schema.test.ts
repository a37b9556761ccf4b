import { PermanentError, type Prediction } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { examplePrediction } from './example.js';
import { checkPrediction } from './prediction-schema.js';

const good = examplePrediction() as Extract<Prediction, { status: 'scored' }>;
const messageOf = (candidate: unknown): string => {
  try {
    checkPrediction(candidate);
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
