import { type Prediction, STANDARD_LEADS, summarizeEcg, synthesizeEcg } from '@ecgcad/ecg';
import type { Bundle, Observation, SampledData } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBundle, writtenDataOf } from './bundle.js';
import { examplePrediction } from './example.js';
import { serializeBundle } from './serialize.js';

/** A scored prediction and its ECG (12 leads, 10 s at 500 Hz); `name`: a patient identifier, any characters. */
function withWaveform(seed: number, name = 'MRN-000123') {
  const ecg = synthesizeEcg({ seed });
  const prediction: Prediction = {
    ...examplePrediction({ ecgId: ecg.id, patientId: name }),
    ecg: summarizeEcg({ ...ecg, patient: { identifier: name } }),
  };
  return { ecg, prediction };
}

const plain = (bundle: Bundle, indent?: number, tail = ''): Buffer =>
  Buffer.from(`${JSON.stringify(bundle, null, indent)}${tail}`, 'utf8');

const ecgObservation = (bundle: Bundle): Observation =>
  bundle.entry?.find((e) => (e.resource as Observation | undefined)?.component)?.resource as Observation;

describe('serializeBundle', () => {
  it('gives the bytes of JSON.stringify for Bundles with the waveform, compact and indented, and leaves them as they were', () => {
    const { ecg, prediction } = withWaveform(3);
    const bundle = buildBundle(prediction, {}, undefined, ecg);
    expect(writtenDataOf(bundle).size).toBe(STANDARD_LEADS.length);
    const before = JSON.stringify(bundle);
    expect(serializeBundle(bundle).equals(plain(bundle))).toBe(true);
    expect(serializeBundle(bundle, { indent: 2, newline: true }).equals(plain(bundle, 2, '\n'))).toBe(true);
    expect(JSON.stringify(bundle)).toBe(before);
  });

  it('is JSON.stringify for any patient identifier and any edit after the build (an edited data string is escaped as JSON would)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 11 }),
        fc.constantFrom('', ' 1"2\\3', ' \u2028é', ' \u0001'),
        fc.option(fc.integer({ min: 1, max: 4 })),
        (name, lead, edit, indent) => {
          const { ecg, prediction } = withWaveform(7, name.trim() === '' ? 'x' : name);
          const bundle = buildBundle(prediction, {}, undefined, ecg);
          const sd = ecgObservation(bundle).component?.[lead]?.valueSampledData as SampledData;
          sd.data = `${sd.data}${edit}`;
          const options = indent === null ? {} : { indent };
          expect(serializeBundle(bundle, options).equals(plain(bundle, indent ?? undefined))).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('serialises Bundles without written data, and a Bundle whose components share one SampledData, as JSON.stringify', () => {
    const { prediction } = withWaveform(5);
    const bare = buildBundle(prediction);
    expect(writtenDataOf(bare).size).toBe(0);
    expect(serializeBundle(bare).equals(plain(bare))).toBe(true);

    const { ecg } = withWaveform(5);
    const bundle = buildBundle(prediction, {}, undefined, ecg);
    const components = ecgObservation(bundle).component ?? [];
    // Aliasing the builder never makes (it hands out a copy without shared objects), made by hand.
    (components[1] as { valueSampledData?: SampledData }).valueSampledData = components[0]?.valueSampledData;
    expect(serializeBundle(bundle).equals(plain(bundle))).toBe(true);
  });
});
