/**
 * A synthetic scored cohort, for tests and for trying `evaluate` without ECGs: per vessel a label drawn
 * from a clinical prior (age, sex, chest pain, risk factors), a binormal model score whose probability is the exact
 * posterior (so the model is calibrated by construction), the PTP inputs, and MACE follow-up that depends on disease.
 */
import { VESSELS, type Vessel } from '@ecgcad/ecg';
import { seededRandom } from '../rng.js';
import { type Label, type ScoreRow, SYMPTOM_TYPES } from '../scores.js';
import { normalDeviate } from '../testing-data.js';

export interface SyntheticCohortOptions {
  n: number;
  seed: number;
  /** Separation of the binormal scores in SD units (true AUC = Phi(d / sqrt 2) given the prior). Default 0.9. */
  d?: number;
  /** Vessels whose labels are all 0 (to test the not-evaluable path). */
  allNegative?: Vessel[];
  /** Leave out the PTP inputs. */
  withoutPtp?: boolean;
  /** Leave out follow-up. */
  withoutFollowUp?: boolean;
}

const PREVALENCE: Record<Vessel, number> = { RCA: 0.2, LM: 0.06, LAD: 0.25, LCx: 0.15 };
const logit = (p: number): number => Math.log(p / (1 - p));
const logistic = (z: number): number => 1 / (1 + Math.exp(-z));

/** Rows as `readScores` would return them (line numbers from 2). */
export function syntheticCohort(options: SyntheticCohortOptions): ScoreRow[] {
  const random = seededRandom(options.seed);
  const d = options.d ?? 0.9;
  const rows: ScoreRow[] = [];
  for (let i = 0; i < options.n; i++) {
    const age = 30 + Math.floor(random() * 51);
    const sex = random() < 0.55 ? 'male' : 'female';
    const symptoms = SYMPTOM_TYPES[Math.floor(random() * SYMPTOM_TYPES.length)] as (typeof SYMPTOM_TYPES)[number];
    const riskFactors = Math.floor(random() * 6);
    const clinical =
      0.05 * (age - 55) + (sex === 'male' ? 0.5 : -0.3) + (symptoms === 'typical' ? 0.8 : 0) + 0.2 * (riskFactors - 2);
    const probabilities: Partial<Record<Vessel, number>> = {};
    const labels: Partial<Record<Vessel, Label>> = {};
    let disease = false;
    for (const vessel of VESSELS) {
      const prior = logistic(logit(PREVALENCE[vessel]) + clinical);
      const label: Label = options.allNegative?.includes(vessel) ? 0 : random() < prior ? 1 : 0;
      const x = normalDeviate(random) + (label ? d : 0);
      probabilities[vessel] = logistic(d * x - (d * d) / 2 + logit(prior));
      labels[vessel] = label;
      disease ||= label === 1;
    }
    const row: ScoreRow = {
      line: i + 2,
      ecgId: `SYN-${i + 1}`,
      path: `synth-${i + 1}.dcm`,
      probabilities,
      labels,
      model: 'ecgcad-demo@1.0.0',
      status: 'scored',
    };
    if (!options.withoutPtp) Object.assign(row, { age, sex, symptoms, riskFactors });
    if (!options.withoutFollowUp) {
      // About 1.5 % a year without disease, 9 % with it.
      const hazard = (disease ? 0.09 : 0.015) / 365;
      const eventDay = -Math.log(1 - random()) / hazard;
      const censorDay = 365 + random() * 1460;
      row.maceDays = Math.round(Math.min(eventDay, censorDay));
      row.maceEvent = eventDay < censorDay ? 1 : 0;
    }
    rows.push(row);
  }
  return rows;
}
