/**
 * The infer stage on real ECG files: decode the shared samples with the ingest decoders, prepare() them as the demo
 * card says, and check that ONNX Runtime computes what the float64 Net1D reference computes on those inputs; then
 * the Predictor end to end (scored, or not analysable with reasons).
 */
import { assessQuality, type Ecg, prepare } from '@ecgcad/ecg';
import { buildModelInMemory, createSession, forwardReference, Predictor } from '@ecgcad/infer';
import { decodeEcg } from '@ecgcad/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSample, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

const meta = { feed: 'file', receivedAt: '2024-01-01T00:00:00.000Z' };

/** Samples that decode; the last one is a 13-sample single-lead record the quality gate must refuse. */
const DECODABLE = [
  'dicom_mortara_el250_12lead.dcm',
  'dicom_gemarquette_maclab_hemodynamic_12ch.dcm',
  'aecg_hl7_2003_example.xml',
  'aecg_liryc_100hz_example.xml',
  'ge_muse_restingecg_example1.xml',
  'aecg_fda_minimum_1lead.xml',
];

describe.skipIf(!samplesPresent)(`infer on the shared samples ${samplesPresent ? '' : SAMPLES_SKIP_REASON}`, () => {
  const { net, model } = buildModelInMemory();
  const ecgs = new Map<string, Ecg>(DECODABLE.map((name) => [name, decodeEcg(readSample(name), meta)]));
  let predictor: Predictor;

  beforeAll(async () => {
    predictor = new Predictor(await createSession(model, { intraOpNumThreads: 2 }), { batching: { maxDelayMs: 2 } });
  });
  afterAll(async () => {
    await predictor.close();
  });

  it('ONNX Runtime agrees with the float64 reference to 1e-5 relative on prepared real ECGs', async () => {
    const session = predictor.session;
    let checked = 0;
    for (const [name, ecg] of ecgs) {
      if (!assessQuality(ecg, model.card.input).analysable) continue;
      const input = prepare(ecg, model.card.input);
      const ortProbs = await session.run(input, 1);
      const refProbs = forwardReference(net, input).probabilities;
      for (let k = 0; k < refProbs.length; k++) {
        const rel = Math.abs((ortProbs[k] as number) - (refProbs[k] as number)) / (refProbs[k] as number);
        expect(rel, `${name} output ${k}`).toBeLessThan(1e-5);
      }
      checked++;
    }
    // Mortara 1000 Hz, Mac-Lab 240 Hz, HL7 example 500 Hz, LIRYC 100 Hz, MUSE 8-lead (limb leads derived).
    expect(checked).toBe(5);
  });

  it('the Predictor scores the 12-lead records and refuses the single-lead one with reasons', async () => {
    const predictions = await Promise.all([...ecgs.values()].map((ecg) => predictor.predict(ecg)));
    const byName = new Map(DECODABLE.map((name, i) => [name, predictions[i]]));
    for (const name of DECODABLE.slice(0, 5)) {
      const p = byName.get(name);
      expect(p?.status, name).toBe('scored');
      if (p?.status === 'scored') {
        expect(p.vessels).toHaveLength(4);
        for (const v of p.vessels) expect(v.probability).toBeGreaterThan(0);
        expect(p.ecg.id).toBe(ecgs.get(name)?.id);
      }
    }
    const single = byName.get('aecg_fda_minimum_1lead.xml');
    expect(single?.status).toBe('not-analysable');
    if (single?.status === 'not-analysable') expect(single.reasons.join(' ')).toMatch(/lead|short|duration/i);
  });
});
