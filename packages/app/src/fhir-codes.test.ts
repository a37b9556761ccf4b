import { CONCEPTS, LOINC_12_LEAD_EKG, SYSTEMS, NOT_ANALYSABLE as WRITER_NA } from '@ecgcad/fhir-writer';
import { describe, expect, it } from 'vitest';
import * as codes from './fhir-codes.js';

describe('the codes the app reads', () => {
  it('are the ones the writer writes', () => {
    expect(codes.ECGCAD).toBe(SYSTEMS.concept);
    expect(codes.RISK_STRATUM).toBe(SYSTEMS.riskStratum);
    expect(codes.PTP).toBe(SYSTEMS.ptp);
    expect([codes.LOINC, codes.ECG_CODE]).toEqual([LOINC_12_LEAD_EKG.system, LOINC_12_LEAD_EKG.code]);
    expect(codes.RISK_CATEGORY).toBe(CONCEPTS.category.code);
    expect(codes.ASSESSMENT).toBe(CONCEPTS.assessment.code);
    expect(codes.PTP_ASSESSMENT).toBe(CONCEPTS.ptpAssessment.code);
    expect(codes.PROBABILITY).toBe(CONCEPTS.probability.code);
    expect(codes.COMBINED).toBe(CONCEPTS.combinedCategory.code);
    expect(codes.NOT_ANALYSABLE).toBe(WRITER_NA.code);
  });
});
