import JSONSchemaValidator from '@asymmetrik/fhir-json-schema-validator';
import { checkPrediction, type EcgAttribution, type Prediction, VESSELS } from '@ecgcad/ecg';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTION_FACTOR, buildAttributionObservation } from './attribution-observation.js';
import { buildBundle, buildBundleParts } from './bundle.js';
import { ATTRIBUTION_WINDOW_START_URL, MDC_LEADS, MDC_SYSTEM, SYSTEMS } from './codes.js';
import { examplePrediction } from './example.js';
import { bundleIssues } from './validate.js';

type Scored = Extract<Prediction, { status: 'scored' }>;

/** Lead rows of an Observation as numbers: origin + factor * datum. */
function decodeRows(obs: Observation): number[][] {
  return (obs.component ?? []).map((c) => {
    const sd = c.valueSampledData;
    return (sd?.data ?? '').split(' ').map((d) => (sd?.origin.value ?? 0) + (sd?.factor ?? 1) * Number(d));
  });
}

describe('attribution Observations in the Bundle', () => {
  const prediction = examplePrediction({ attribution: true }) as Scored;
  const attribution = prediction.attribution as EcgAttribution;
  const { bundle, parts } = buildBundleParts(prediction);
  const fullUrlOf = (r: unknown) => bundle.entry?.find((e) => e.resource === r)?.fullUrl;

  it('adds one Observation per vessel, after the vessel Observations, and the Bundle validates', () => {
    checkPrediction(prediction);
    expect(parts.attribution).toHaveLength(4);
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'Device',
      'Observation',
      'RiskAssessment',
      ...Array(8).fill('Observation'),
      'Flag',
      'Provenance',
    ]);
    expect(bundleIssues(bundle)).toEqual([]);
    expect(new JSONSchemaValidator().validate(bundle)).toEqual([]);
  });

  it('links each map to its vessel stratum Observation (focus) and to the ECG (derivedFrom), and the Provenance targets it', () => {
    const ecgUrl = fullUrlOf(parts.ecg);
    const targets = parts.provenance.target.map((t) => t.reference);
    (parts.attribution ?? []).forEach((obs, i) => {
      const vessel = parts.vessels[i] as Observation;
      expect(obs.code.text).toContain(`(${VESSELS[i]})`);
      expect(vessel.code.coding?.[0]?.code).toBe(`${VESSELS[i]}-risk-stratum`);
      expect(obs.focus?.map((f) => f.reference)).toEqual([fullUrlOf(vessel)]);
      expect(obs.derivedFrom?.map((d) => d.reference)).toEqual([ecgUrl]);
      expect(obs.device?.reference).toBe(fullUrlOf(parts.device));
      expect(obs.subject).toEqual(parts.ecg.subject);
      expect(obs.effectiveDateTime).toBe(parts.ecg.effectiveDateTime);
      expect(obs.meta?.security?.map((s) => s.code)).toEqual(['AIAST']);
      expect(obs.code.coding).toEqual([
        { system: SYSTEMS.concept, code: 'occlusion-sensitivity', display: 'ECG occlusion-sensitivity map' },
      ]);
      expect(targets).toContain(fullUrlOf(obs));
    });
  });

  it('carries every value of the map: one component per lead with its MDC code, SampledData in windows from the start', () => {
    (parts.attribution ?? []).forEach((obs, i) => {
      const map = attribution.vessels[VESSELS[i] as keyof typeof attribution.vessels] as number[][];
      expect(obs.extension).toEqual([
        { url: ATTRIBUTION_WINDOW_START_URL, valueQuantity: { value: 0, unit: 's', system: SYSTEMS.ucum, code: 's' } },
      ]);
      expect(obs.component?.map((c) => c.code.coding?.[0])).toEqual(
        attribution.leads.map((lead) => ({ system: MDC_SYSTEM, ...MDC_LEADS[lead as keyof typeof MDC_LEADS] })),
      );
      for (const c of obs.component ?? []) {
        expect(c.valueSampledData).toMatchObject({
          origin: { value: 0, unit: '1', code: '1' },
          period: 1000,
          factor: ATTRIBUTION_FACTOR,
          dimensions: 1,
        });
        expect(c.valueSampledData?.data).toMatch(/^-?\d+( -?\d+){9}$/);
      }
      decodeRows(obs).forEach((row, l) => {
        row.forEach((value, w) => {
          expect(Math.abs(value - (map[l]?.[w] as number))).toBeLessThan(1e-9);
        });
      });
    });
    // The LAD map peaks on V2-V4 at 4 s, as the example says.
    const lad = decodeRows(parts.attribution?.[2] as Observation).flat();
    const peak = lad.indexOf(Math.max(...lad));
    expect([7, 8, 9]).toContain(Math.floor(peak / 10));
    expect(peak % 10).toBe(4);
  });

  it('derives identifiers like every result (a resend is recognised), and a prediction without a map has none', () => {
    const again = buildBundleParts(examplePrediction({ attribution: true })).parts;
    expect(again.attribution?.map((o) => o.identifier)).toEqual(parts.attribution?.map((o) => o.identifier));
    const ids = new Set(parts.attribution?.map((o) => o.identifier?.[0]?.value));
    expect(ids.size).toBe(4);
    const plain = buildBundleParts(examplePrediction()).parts;
    expect(plain.attribution).toBeUndefined();
    expect(plain.vessels.map((v) => v.identifier)).toEqual(parts.vessels.map((v) => v.identifier));
  });

  it('writes maps only for the vessels the attribution holds; periods follow windowS and startS is stated', () => {
    const halfSecond: EcgAttribution = {
      ...attribution,
      windowS: 0.5,
      startS: 1.25,
      vessels: { LAD: attribution.vessels.LAD as number[][] },
    };
    const { parts: p } = buildBundleParts({ ...prediction, attribution: halfSecond });
    expect(p.attribution).toHaveLength(1);
    expect(p.attribution?.[0]?.component?.[0]?.valueSampledData?.period).toBe(500);
    expect(p.attribution?.[0]?.extension?.[0]?.valueQuantity?.value).toBe(1.25);
  });

  it('the project checks catch a map that lost its focus, start or rows', () => {
    const broken = (edit: (obs: Observation) => void): string[] => {
      const copy = JSON.parse(JSON.stringify(buildBundle(prediction))) as Bundle;
      const obs = copy.entry?.find(
        (e) =>
          e.resource?.resourceType === 'Observation' && e.resource.code.coding?.[0]?.code === 'occlusion-sensitivity',
      )?.resource as Observation;
      edit(obs);
      return bundleIssues(copy);
    };
    expect(broken((o) => delete o.focus).join('\n')).toContain('focus (the vessel stratum Observation) is missing');
    expect(broken((o) => delete o.extension).join('\n')).toContain('attribution-window-start');
    expect(
      broken((o) => {
        const sd = o.component?.[3]?.valueSampledData;
        if (sd) sd.data = '1 2 3';
      }).join('\n'),
    ).toContain('different numbers of windows');
    expect(
      broken((o) => {
        const sd = o.component?.[0]?.valueSampledData;
        if (sd) sd.data = '0.5 E 1';
      }).join('\n'),
    ).toContain('one row of integers');
  });

  it('refuses to build a map the attribution does not hold', () => {
    const ctx = {
      identifier: { system: SYSTEMS.resultId, value: 'x' },
      subject: { reference: 'Patient/1' },
      effective: undefined,
      issued: prediction.predictedAt,
      device: { reference: 'Device/1' },
      ecg: { reference: 'Observation/1' },
      focus: { reference: 'Observation/2' },
      notes: [],
    };
    expect(() => buildAttributionObservation({ ...attribution, vessels: {} }, 'LAD', ctx)).toThrow(RangeError);
  });
});
