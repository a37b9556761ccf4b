import { describe, expect, it } from 'vitest';
import { parseModelCard } from './card.js';
import { generatedCard } from './demo/generate.js';
import { InvalidModelError } from './errors.js';
import { DEMO_CONFIG } from './net1d/config.js';

const valid = (): Record<string, unknown> =>
  JSON.parse(JSON.stringify(generatedCard(DEMO_CONFIG, 'a'.repeat(64), false))) as Record<string, unknown>;

// biome-ignore lint/suspicious/noExplicitAny: the tests write deliberately wrong card JSON
type CardJson = any;

function refusal(mutate: (card: CardJson) => void): InvalidModelError {
  const card = valid();
  mutate(card);
  try {
    parseModelCard(card);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidModelError);
    return err as InvalidModelError;
  }
  throw new Error('card was accepted');
}

describe('parseModelCard', () => {
  it('accepts the demo card and keeps its fields', () => {
    const card = parseModelCard(valid());
    expect(card.id).toBe('ecgcad-demo');
    expect(card.clinicalUse).toBe(false);
    expect(card.input.leads).toHaveLength(12);
    expect(card.thresholds.LAD).toEqual({
      ruleOut: 0.12,
      ruleIn: 0.41,
      ruleOutSensitivity: 0.9,
      ruleInSpecificity: 0.9,
    });
  });

  it('names each bad field with the path and what was expected', () => {
    const err = refusal((c) => {
      c.input.samples = '5000';
      c.input.layout = 'CNL';
    });
    expect(err.code).toBe('INVALID_MODEL');
    expect(err.field).toBe('input.samples');
    expect(err.issues.some((i) => i.startsWith('input.samples:') && /number/.test(i))).toBe(true);
    expect(err.issues.some((i) => i.startsWith('input.layout:') && /NCL/.test(i))).toBe(true);
  });

  it('refuses unknown or repeated lead names', () => {
    expect(refusal((c) => c.input.leads.splice(0, 1, 'Lead1')).field).toBe('input.leads.0');
    expect(refusal((c) => (c.input.leads[1] = 'I')).field).toBe('input.leads');
  });

  it('refuses thresholds missing for a vessel, out of [0, 1], or with ruleOut > ruleIn', () => {
    const missing = refusal((c) => delete c.thresholds.LCx);
    expect(missing.field).toBe('thresholds.LCx');
    expect(missing.message).toMatch(/thresholds\.LCx: missing/);
    expect(refusal((c) => (c.thresholds.RCA.ruleIn = 1.2)).field).toBe('thresholds.RCA.ruleIn');
    expect(refusal((c) => (c.thresholds.LM.ruleOut = -0.1)).field).toBe('thresholds.LM.ruleOut');
    const order = refusal((c) => (c.thresholds.LAD = { ruleOut: 0.5, ruleIn: 0.4 }));
    expect(order.field).toBe('thresholds.LAD.ruleOut');
    expect(order.message).toMatch(/ruleOut must be <= ruleIn/);
  });

  it('refuses thresholds for a vessel the model does not output', () => {
    expect(refusal((c) => (c.outputs.vessels = ['RCA', 'LM', 'LAD'])).field).toBe('thresholds.LCx');
  });

  it('refuses a malformed sha256 and a missing clinicalUse flag', () => {
    expect(refusal((c) => (c.sha256 = 'ABC')).field).toBe('sha256');
    expect(refusal((c) => delete c.clinicalUse).field).toBe('clinicalUse');
  });

  it('refuses a non-object', () => {
    expect(() => parseModelCard(null)).toThrow(InvalidModelError);
    expect(() => parseModelCard([1, 2])).toThrow(/\(card\)/);
  });

  it('accepts an optional calibration block and names a bad field in it', () => {
    const calibration = {
      cohortSha256: 'b'.repeat(64),
      rule: 'sens-spec',
      date: '2026-12-03T17:00:00.000Z',
      engineVersion: '0.1.0',
      calibratedFrom: '1.0.0',
      bootstrap: { resamples: 1000, seed: 42 },
      vessels: { RCA: { n: 500, positives: 80, auc: 0.71, targetSensitivity: 0.9, targetSpecificity: 0.9 } },
    };
    expect(parseModelCard({ ...valid(), calibration }).calibration).toEqual(calibration);
    expect(parseModelCard(valid()).calibration).toBeUndefined();
    const err = refusal((c) => {
      c.calibration = { ...calibration, rule: 'guess', vessels: { RCA: { n: 500, positives: 80, auc: 1.2 } } };
    });
    expect(err.issues.join('\n')).toMatch(/^calibration\.rule: /m);
    expect(err.issues.join('\n')).toMatch(/^calibration\.vessels\.RCA\.auc: must be <= 1$/m);
  });
});
