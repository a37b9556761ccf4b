/**
 * The infer stage on ECG files: decode them with the ingest decoders, prepare() them as the demo card says, and
 * check that ONNX Runtime computes what the float64 Net1D reference computes on those inputs; then the Predictor end
 * to end (scored, or not analysable with reasons). Once on files the project writes itself (synthetic ECGs through
 * the DICOM and aECG writers: always runs), once on the real shared samples (skipped with the reason when absent).
 */
import { assessQuality, type Ecg, prepare, synthesizeEcg } from '@ecgcad/ecg';
import { buildModelInMemory, createSession, forwardReference, Predictor } from '@ecgcad/infer';
import { decodeEcg, writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSkip, readSample, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const meta = { feed: 'file', receivedAt: '2024-01-01T00:00:00.000Z' };
const { net, model } = buildModelInMemory();

/** A Predictor on the in-memory demo model for one describe block. */
function usePredictor(): { get(): Predictor } {
  let predictor: Predictor | undefined;
  beforeAll(async () => {
    predictor = new Predictor(await createSession(model, { intraOpNumThreads: 2 }), { batching: { maxDelayMs: 2 } });
  });
  afterAll(async () => {
    await predictor?.close();
  });
  return {
    get: () => {
      if (!predictor) throw new Error('predictor not started');
      return predictor;
    },
  };
}

/** Checks ONNX Runtime against the float64 reference on every analysable record; returns how many it checked. */
async function expectOrtMatchesReference(predictor: Predictor, ecgs: Map<string, Ecg>): Promise<number> {
  let checked = 0;
  for (const [name, ecg] of ecgs) {
    if (!assessQuality(ecg, model.card.input).analysable) continue;
    const input = prepare(ecg, model.card.input);
    const ortProbs = await predictor.session.run(input, 1);
    const refProbs = forwardReference(net, input).probabilities;
    for (let k = 0; k < refProbs.length; k++) {
      const rel = Math.abs((ortProbs[k] as number) - (refProbs[k] as number)) / (refProbs[k] as number);
      expect(rel, `${name} output ${k}`).toBeLessThan(1e-5);
    }
    checked++;
  }
  return checked;
}

describe('infer on files the project writes (synthetic ECGs through the writers)', () => {
  const predictor = usePredictor();
  const files: Array<[string, Uint8Array]> = [
    ['dicom 500 Hz 12 leads', writeDicomEcg(synthesizeEcg({ seed: 11 }))],
    ['dicom 1000 Hz 8 leads', writeDicomEcg(synthesizeEcg({ seed: 12, sampleRateHz: 1000 }), { leads: 8 })],
    ['aecg 500 Hz 12 leads', writeAecg(synthesizeEcg({ seed: 13, st: { leads: 'inferior', shiftUv: -150 } }))],
    ['aecg 1000 Hz 8 leads', writeAecg(synthesizeEcg({ seed: 14, sampleRateHz: 1000 }), { leads: 8 })],
    ['aecg 2 s (too short)', writeAecg(synthesizeEcg({ seed: 15, durationS: 2 }))],
  ];
  const ecgs = new Map(files.map(([name, bytes]) => [name, decodeEcg(bytes, meta)]));

  it('ONNX Runtime agrees with the float64 reference to 1e-5 relative on the prepared decoded files', async () => {
    expect(await expectOrtMatchesReference(predictor.get(), ecgs)).toBe(4);
  });

  it('the Predictor scores the 10 s records and refuses the 2 s one with reasons', async () => {
    const predictions = await Promise.all([...ecgs.values()].map((ecg) => predictor.get().predict(ecg)));
    expect(predictions.slice(0, 4).map((p) => p.status)).toEqual(['scored', 'scored', 'scored', 'scored']);
    const short = predictions[4];
    expect(short?.status).toBe('not-analysable');
    if (short?.status === 'not-analysable') expect(short.reasons.join(' ')).toMatch(/short|duration/i);
  });
});

/** Samples that decode; the last one is a 13-sample single-lead record the quality gate must refuse. */
const DECODABLE = [
  'dicom_mortara_el250_12lead.dcm',
  'dicom_gemarquette_maclab_hemodynamic_12ch.dcm',
  'aecg_hl7_2003_example.xml',
  'aecg_liryc_100hz_example.xml',
  'ge_muse_restingecg_example1.xml',
  'aecg_fda_minimum_1lead.xml',
];

describe.skipIf(!samplesPresent)(
  `infer on the shared samples${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`,
  () => {
    const predictor = usePredictor();
    // Read when the tests run, not when they are collected: a skipped block's body is still collected.
    const ecgs = new Map<string, Ecg>();
    beforeAll(() => {
      for (const name of DECODABLE) ecgs.set(name, decodeEcg(readSample(name), meta));
    });

    it('ONNX Runtime agrees with the float64 reference to 1e-5 relative on prepared real ECGs', async () => {
      // Mortara 1000 Hz, Mac-Lab 240 Hz, HL7 example 500 Hz, LIRYC 100 Hz, MUSE 8-lead (limb leads derived).
      expect(await expectOrtMatchesReference(predictor.get(), ecgs)).toBe(5);
    });

    it('the Predictor scores the 12-lead records and refuses the single-lead one with reasons', async () => {
      const predictions = await Promise.all([...ecgs.values()].map((ecg) => predictor.get().predict(ecg)));
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
  },
);
