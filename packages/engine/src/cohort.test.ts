import { generateCohort } from '@ecgcad/clinical';
import { assessQuality, synthesize } from '@ecgcad/ecg';
import { checkModel, createSession, Predictor } from '@ecgcad/infer';
import { describe, expect, it } from 'vitest';
import {
  buildCohortModel,
  COHORT_SYNTH,
  cohortEcg,
  cohortEcgSeed,
  plantedShifts,
  ST_UV_PER_LATENT,
  territoryReading,
} from './cohort.js';

const ZEROS = { RCA: 0, LM: 0, LAD: 0, LCx: 0 };
const CLEAN = { ...COHORT_SYNTH, morphologyJitter: 0, noise: { baselineWanderUv: 0, mainsUv: 0, muscleUv: 0 } };

describe('cohort ECGs', () => {
  it('plant each latent in its own territory only', () => {
    expect(plantedShifts({ RCA: 1, LM: 2, LAD: -1, LCx: 0.5 })).toEqual({
      II: -ST_UV_PER_LATENT,
      V1: 2 * ST_UV_PER_LATENT,
      V2: 2 * ST_UV_PER_LATENT,
      V3: ST_UV_PER_LATENT,
      V4: ST_UV_PER_LATENT,
      I: -0.5 * ST_UV_PER_LATENT,
      V5: -0.5 * ST_UV_PER_LATENT,
      V6: -0.5 * ST_UV_PER_LATENT,
    });
  });

  it('read linearly, whatever the beat phase: a whole number of beats in the record', () => {
    // Two clean records with different beat phases read the same; the reading moves by the latent times a gain.
    const a = territoryReading(cohortEcg(ZEROS, 1, CLEAN));
    const b = territoryReading(cohortEcg(ZEROS, 2, CLEAN));
    expect(synthesize({ ...CLEAN, seed: 1 }).beats[0]?.rTimeS).not.toBeCloseTo(
      synthesize({ ...CLEAN, seed: 2 }).beats[0]?.rTimeS as number,
      2,
    );
    const latents = { RCA: 1.5, LM: -0.7, LAD: 2.2, LCx: 0.3 };
    const shifted = territoryReading(cohortEcg(latents, 2, CLEAN));
    const unit = territoryReading(cohortEcg({ ...ZEROS, LAD: 1 }, 2, CLEAN));
    const gain = unit.LAD - b.LAD;
    // ST depression of 50 uV over ~0.30 of each 1 s cycle: about -15 uV of mean.
    expect(gain).toBeCloseTo(-0.015, 3);
    for (const v of ['RCA', 'LM', 'LAD', 'LCx'] as const) {
      expect(Math.abs(a[v] - b[v])).toBeLessThan(1e-6);
      expect(shifted[v] - b[v]).toBeCloseTo(Math.sign(v === 'LM' ? 1 : -1) * Math.abs(gain) * latents[v], 6);
    }
  });

  it('pass the quality gate, and the model turns latents into the binormal posterior', async () => {
    const cohort = generateCohort({ count: 40, seed: 5 });
    const { bytes, card } = buildCohortModel(cohort);
    const model = checkModel('(cohort)', card, bytes);
    const predictor = new Predictor(await createSession(model, { intraOpNumThreads: 1 }));
    try {
      for (const subject of cohort.subjects.slice(0, 12)) {
        const ecg = cohortEcg(subject.latents, cohortEcgSeed(5, subject.index));
        expect(assessQuality(ecg, card.input).analysable).toBe(true);
        const prediction = await predictor.predict(ecg);
        if (prediction.status !== 'scored') throw new Error('not scored');
        for (const { vessel, probability } of prediction.vessels) {
          const { separation: d, prevalence } = cohort.vessels[vessel];
          const x = subject.latents[vessel];
          const logit = Math.log(probability / (1 - probability));
          // Residual from morphology jitter and noise: about 0.1 latent SD, i.e. 0.1 d in log-odds.
          expect(Math.abs(logit - (d * x - (d * d) / 2 + Math.log(prevalence / (1 - prevalence))))).toBeLessThan(
            0.4 * d,
          );
        }
      }
    } finally {
      await predictor.close();
    }
  });
});
