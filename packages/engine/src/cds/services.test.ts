import { describe, expect, it } from 'vitest';
import { DEFAULT_ORDER_CODES, discovery, hasCoronaryTestOrder, prefetchTemplates, servedServices } from './services.js';
import { discoverySchema } from './spec.js';

const CCTA = { system: 'http://www.ama-assn.org/go/cpt', code: '75574' };
const order = (id: string, coding: { system: string; code: string }, resourceType = 'ServiceRequest') => ({
  resource: { resourceType, id, status: 'draft', intent: 'order', code: { coding: [coding] } },
});

describe('discovery', () => {
  it('validates against the spec shape and offers patient-view, order-select and order-sign', () => {
    const body = discovery();
    expect(discoverySchema.parse(body)).toEqual(body);
    expect(body.services.map((s) => [s.id, s.hook])).toEqual([
      ['ecgcad-ecg-cad-risk', 'patient-view'],
      ['ecgcad-ecg-cad-risk-order-select', 'order-select'],
      ['ecgcad-ecg-cad-risk-order-sign', 'order-sign'],
    ]);
    expect(new Set(servedServices().map((s) => s.id)).size).toBe(3);
  });

  it('asks for the result Observations and the PTP RiskAssessments of the patient with 2.0 tokens only', () => {
    const templates = prefetchTemplates();
    expect(templates.ecgcadResults).toBe(
      'Observation?patient=Patient/{{context.patientId}}&category=https://ecgcad.org/fhir/CodeSystem/ecgcad|ecg-cad-risk&_sort=-date&_count=200',
    );
    expect(templates.ecgcadPtp).toContain('RiskAssessment?patient=Patient/{{context.patientId}}&method=');
    for (const t of Object.values(templates)) expect(t.match(/\{\{[^}]*\}\}/g)).toEqual(['{{context.patientId}}']);
  });
});

describe('hasCoronaryTestOrder', () => {
  it('answers for a CCTA or stress test ServiceRequest among the selected draft orders', () => {
    const draftOrders = { resourceType: 'Bundle', type: 'collection', entry: [order('a', CCTA)] };
    expect(hasCoronaryTestOrder({ draftOrders, selections: ['ServiceRequest/a'] }, DEFAULT_ORDER_CODES)).toBe(true);
    expect(hasCoronaryTestOrder({ draftOrders }, DEFAULT_ORDER_CODES)).toBe(true);
    const stress = { entry: [order('s', { system: 'http://snomed.info/sct', code: '76746007' })] };
    expect(hasCoronaryTestOrder({ draftOrders: stress }, DEFAULT_ORDER_CODES)).toBe(true);
  });

  it('does not answer for other orders, unselected ones, other resource types or a missing Bundle', () => {
    const lipids = { entry: [order('l', { system: 'http://loinc.org', code: '57698-3' })] };
    expect(hasCoronaryTestOrder({ draftOrders: lipids }, DEFAULT_ORDER_CODES)).toBe(false);
    const both = { entry: [order('l', { system: 'http://loinc.org', code: '57698-3' }), order('c', CCTA)] };
    expect(hasCoronaryTestOrder({ draftOrders: both, selections: ['ServiceRequest/l'] }, DEFAULT_ORDER_CODES)).toBe(
      false,
    );
    const med = { entry: [order('m', CCTA, 'MedicationRequest')] };
    expect(hasCoronaryTestOrder({ draftOrders: med }, DEFAULT_ORDER_CODES)).toBe(false);
    expect(hasCoronaryTestOrder({}, DEFAULT_ORDER_CODES)).toBe(false);
  });

  it('uses the configured codes only', () => {
    const site = { entry: [order('x', { system: 'https://hospital.example.org/orders', code: 'CCTA-01' })] };
    expect(hasCoronaryTestOrder({ draftOrders: site }, DEFAULT_ORDER_CODES)).toBe(false);
    expect(hasCoronaryTestOrder({ draftOrders: site }, ['https://hospital.example.org/orders|CCTA-01'])).toBe(true);
  });
});
