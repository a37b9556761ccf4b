import { describe, expect, it } from 'vitest';
import { cardSchema, cdsRequestSchema, discoverySchema, feedbackSchema } from './spec.js';

const card = {
  summary: 'A card',
  indicator: 'info',
  source: { label: 'ecgcad ECG-AI' },
};

describe('CDS Hooks shapes', () => {
  it('accepts the spec example card and refuses what the spec forbids', () => {
    expect(cardSchema.safeParse(card).success).toBe(true);
    expect(cardSchema.safeParse({ ...card, summary: 'x'.repeat(140) }).success).toBe(false);
    expect(cardSchema.safeParse({ ...card, summary: '' }).success).toBe(false);
    expect(cardSchema.safeParse({ ...card, indicator: 'hard-stop' }).success).toBe(false);
    expect(cardSchema.safeParse({ ...card, suggestions: [{ label: 'Do it' }] }).success).toBe(false);
    expect(cardSchema.safeParse({ ...card, suggestions: [{ label: 'Do it' }], selectionBehavior: 'any' }).success).toBe(
      true,
    );
    expect(cardSchema.safeParse({ ...card, links: [] }).success).toBe(false);
    const absolute = { label: 'x', url: 'https://example.org', type: 'absolute', appContext: '{}' };
    expect(cardSchema.safeParse({ ...card, links: [absolute] }).success).toBe(false);
  });

  it('needs hook, description and id on each discovered service, and relative prefetch templates', () => {
    const service = { hook: 'patient-view', id: 'x', description: 'd' };
    expect(discoverySchema.safeParse({ services: [service] }).success).toBe(true);
    expect(discoverySchema.safeParse({ services: [{ ...service, description: undefined }] }).success).toBe(false);
    expect(
      discoverySchema.safeParse({ services: [{ ...service, prefetch: { p: 'https://evil/Patient' } }] }).success,
    ).toBe(false);
  });

  it('needs hook, hookInstance and context in a request, and fhirServer with fhirAuthorization', () => {
    const request = { hook: 'patient-view', hookInstance: 'd1577c69', context: { patientId: '1' } };
    expect(cdsRequestSchema.safeParse(request).success).toBe(true);
    expect(cdsRequestSchema.safeParse({ ...request, hookInstance: undefined }).success).toBe(false);
    const auth = { access_token: 't', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds' };
    expect(cdsRequestSchema.safeParse({ ...request, fhirAuthorization: auth }).success).toBe(false);
    expect(
      cdsRequestSchema.safeParse({ ...request, fhirAuthorization: auth, fhirServer: 'https://ehr.example.org/fhir' })
        .success,
    ).toBe(true);
  });

  it('takes feedback items with card, outcome and time, and accepted ones only with the accepted suggestions', () => {
    const item = { card: 'c1', outcome: 'overridden', outcomeTimestamp: '2026-12-03T12:00:00Z' };
    expect(feedbackSchema.safeParse({ feedback: [item] }).success).toBe(true);
    expect(feedbackSchema.safeParse({ feedback: [] }).success).toBe(false);
    expect(feedbackSchema.safeParse({ feedback: [{ ...item, outcome: 'accepted' }] }).success).toBe(false);
    const accepted = { ...item, outcome: 'accepted', acceptedSuggestions: [{ id: 's1' }] };
    expect(feedbackSchema.safeParse({ feedback: [accepted] }).success).toBe(true);
  });
});
