/**
 * The codes ecgcad writes (docs/FHIR.md), as the app reads them. Copied from @ecgcad/fhir-writer's codes.ts rather
 * than imported: the writer package runs on Node (HTTP client, validator) and must not be bundled into the browser.
 * fhir-codes.test.ts compares them with the writer's, so they cannot drift apart.
 */
export const ECGCAD = 'https://ecgcad.org/fhir/CodeSystem/ecgcad';
export const RISK_STRATUM = 'https://ecgcad.org/fhir/CodeSystem/risk-stratum';
export const PTP = 'https://ecgcad.org/fhir/CodeSystem/ptp';
export const LOINC = 'http://loinc.org';
/** LOINC 12-lead ECG: the ECG Observation. */
export const ECG_CODE = '34534-8';
/** Category of the vessel stratum and not-analysable Observations. */
export const RISK_CATEGORY = 'ecg-cad-risk';
/** Code of the AI RiskAssessment and of the not-analysable Observation. */
export const ASSESSMENT = 'ecg-cad-assessment';
export const PTP_ASSESSMENT = 'ptp-assessment';
export const PROBABILITY = 'probability';
export const COMBINED = 'ptp-ai-combined-category';
export const OCCLUSION = 'occlusion-sensitivity';
export const NOT_ANALYSABLE = 'not-analysable';

/** The four vessels, in the model's order. */
export const VESSELS = ['RCA', 'LM', 'LAD', 'LCx'] as const;
export type Vessel = (typeof VESSELS)[number];
export type Stratum = 'low' | 'intermediate' | 'high';

/** Code of a vessel's stratum Observation (`LAD-risk-stratum`). */
export const stratumCode = (v: Vessel): string => `${v}-risk-stratum`;
