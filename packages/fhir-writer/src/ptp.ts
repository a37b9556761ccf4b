/**
 * Pre-test probability for one scored ECG: the inputs the EHR established (ptp-inputs.ts) -> the ESC model
 * (@ecgcad/clinical) -> the combined category per vessel from the reclassification matrix. Pure: the Bundle
 * builder turns the result into resources.
 */
import {
  type CombinedCategory,
  combinedCategory,
  defaultReclassification,
  PtpInputError,
  type PtpLevel,
  type PtpModel,
  type PtpResult,
  pretestProbability,
  ptpLevel,
  type ReclassificationMatrix,
  type SymptomType,
} from '@ecgcad/clinical';
import type { Vessel, VesselPrediction } from '@ecgcad/ecg';
import {
  type DerivedPtpInputs,
  determinedRiskFactorCount,
  type MissingInput,
  RISK_FACTORS,
  type RiskFactor,
  type RiskFactorState,
} from './ptp-inputs.js';

/** The PTP model the site reports (CACS-CL is added on top of ESC 2024 when a calcium score exists). */
export type ReportedPtpModel = 'esc2019' | 'esc2024';

/** One model's value. */
export interface PtpValueView {
  model: PtpModel;
  percent: number;
  /** The model's own category (ESC 2019: low / intermediate / high; ESC 2024: very low / low / moderate). */
  category: string;
  /** The category on the shared three-level scale the matrix uses. */
  level: PtpLevel;
}

/** The PTP the Bundle carries. */
export type PtpAssessment =
  | {
      status: 'computed';
      model: ReportedPtpModel;
      value: PtpValueView;
      /** CACS-CL, when a calcium score exists and the ESC 2024 risk-factor group is known. */
      cacsCl?: PtpValueView;
      inputs: {
        age: number;
        sex: 'male' | 'female';
        symptoms: SymptomType;
        /** Dyspnoea beside the chest-pain type. */
        dyspnoea?: boolean;
        riskFactors: Record<RiskFactor, RiskFactorState>;
        /** Present risk factors, when the unknown ones cannot change the group (always for ESC 2024). */
        riskFactorCount?: number;
        cacs?: number;
      };
      /** `Type/id` of every EHR resource the value rests on (Patient, symptom record, risk factors). */
      basis: string[];
      /** `Type/id` of the calcium score Observation. */
      cacsRef?: string;
      /** The matrix's PTP model and the combined category per vessel; absent vessels: see `combinedMissing`. */
      matrixModel: PtpModel;
      combined: Partial<Record<Vessel, CombinedCategory>>;
      /** Why there is no combined category (the matrix's model has no value for this patient). */
      combinedMissing?: string;
      /** The model's notes (other source of the ESC 2024 value, calcium bin). */
      notes: string[];
    }
  | {
      status: 'not-computed';
      model: ReportedPtpModel;
      /** Each missing or unusable input with the reason. */
      missing: MissingInput[];
      /** `Type/id` of the resources that were found. */
      basis: string[];
    };

/** Names of the inputs, for notes a clinician reads. */
export const PTP_INPUT_NAMES: Record<MissingInput['input'], string> = {
  patient: 'patient',
  'ecg-time': 'ECG acquisition time',
  age: 'age',
  sex: 'sex',
  symptoms: 'symptom type',
  'family-history': 'family history of premature CAD',
  smoking: 'smoking status',
  dyslipidaemia: 'dyslipidaemia',
  hypertension: 'hypertension',
  diabetes: 'diabetes',
  'risk-factors': 'risk-factor count',
  cacs: 'coronary calcium score',
};

/** Options of assessPtp. */
export interface AssessPtpOptions {
  /** Default `esc2024`. */
  model?: ReportedPtpModel;
  /** Default: the shipped matrix on the reported model (`defaultReclassification(model)`). */
  matrix?: ReclassificationMatrix;
}

/**
 * The PTP of the derived inputs and the combined category of each vessel. Not computed, naming every missing
 * input, when age, sex or symptoms are missing, or (ESC 2024) when unknown risk factors could change the
 * risk-factor group; also when the model refuses an input (age outside 30-80).
 */
export function assessPtp(
  derived: DerivedPtpInputs,
  vessels: VesselPrediction[],
  options: AssessPtpOptions = {},
): PtpAssessment {
  const model = options.model ?? 'esc2024';
  const matrix = options.matrix ?? defaultReclassification(model);
  const missing = [...derived.missing];
  const basis = basisOf(derived);
  const count = determinedRiskFactorCount(derived.riskFactors);
  // Risk factors matter for ESC 2024, for CACS-CL and for any matrix on those models.
  const needsRiskFactors = model === 'esc2024' || matrix.ptpModel !== 'esc2019';
  if (
    needsRiskFactors &&
    count === undefined &&
    !missing.some((m) => m.input === 'patient' || m.input === 'ecg-time')
  ) {
    for (const r of RISK_FACTORS) {
      const state = derived.riskFactors[r];
      if (state.state === 'unknown') missing.push({ input: r, reason: state.reason ?? 'not recorded' });
    }
  }
  const { age, sex, symptoms } = derived;
  if (missing.length > 0 || age === undefined || sex === undefined || symptoms === undefined) {
    return { status: 'not-computed', model, missing, basis };
  }

  let result: PtpResult;
  try {
    // With ESC 2019 and undetermined risk factors, the count is only a placeholder for the call: the ESC 2024
    // and CACS-CL values it yields are dropped below and never reported.
    result = pretestProbability({
      age,
      sex,
      symptoms,
      ...(derived.dyspnoea ? { dyspnoea: true } : {}),
      riskFactors: count ?? countPresent(derived.riskFactors),
      ...(derived.cacs !== undefined ? { cacs: derived.cacs } : {}),
    });
  } catch (err) {
    if (err instanceof PtpInputError) {
      return { status: 'not-computed', model, missing: [{ input: inputOf(err.input), reason: err.message }], basis };
    }
    throw err;
  }
  const reported = model === 'esc2019' ? result.esc2019 : result.esc2024;
  if (!reported) {
    const reason = result.notes[0] ?? 'the model has no value for these inputs';
    return { status: 'not-computed', model, missing: [{ input: 'symptoms', reason }], basis };
  }
  const view = (m: PtpModel, v: { percent: number; category: string }): PtpValueView => ({
    model: m,
    percent: v.percent,
    category: v.category,
    level: ptpLevel(m, v.category),
  });
  const rfKnown = count !== undefined;
  const cacsCl = rfKnown && result.cacsCl ? view('cacs-cl', result.cacsCl) : undefined;

  const combined: Partial<Record<Vessel, CombinedCategory>> = {};
  let combinedMissing: string | undefined;
  if (!rfKnown && matrix.ptpModel !== 'esc2019') {
    combinedMissing = `the reclassification matrix is on ${matrix.ptpModel}, which needs the risk factors`;
  } else {
    for (const v of vessels) {
      const c = combinedCategory(matrix, result, v.stratum);
      if (c === null) {
        combinedMissing =
          matrix.ptpModel === 'cacs-cl'
            ? 'the reclassification matrix is on CACS-CL and no coronary calcium score was found'
            : `the reclassification matrix's model (${matrix.ptpModel}) has no value for this patient`;
        break;
      }
      combined[v.vessel] = c;
    }
  }
  if (combinedMissing) for (const v of Object.keys(combined)) delete combined[v as Vessel];

  return {
    status: 'computed',
    model,
    value: view(model, reported),
    ...(cacsCl ? { cacsCl } : {}),
    inputs: {
      age,
      sex,
      symptoms,
      ...(derived.dyspnoea ? { dyspnoea: true } : {}),
      riskFactors: derived.riskFactors,
      ...(rfKnown ? { riskFactorCount: count } : {}),
      ...(derived.cacs !== undefined ? { cacs: derived.cacs } : {}),
    },
    basis,
    ...(cacsCl && derived.cacsRef ? { cacsRef: derived.cacsRef } : {}),
    matrixModel: matrix.ptpModel,
    combined,
    ...(combinedMissing ? { combinedMissing } : {}),
    // The notes about ESC 2024 and the calcium bin say nothing true about an ESC 2019 report without risk factors.
    notes: rfKnown ? result.notes : result.notes.filter((n) => !/ESC 2024|CACS/.test(n)),
  };
}

function countPresent(riskFactors: Record<RiskFactor, RiskFactorState>): number {
  return Object.values(riskFactors).filter((s) => s.state === 'present').length;
}

/** The input a model refused, in the reader's names. */
function inputOf(input: string): MissingInput['input'] {
  if (input === 'age' || input === 'sex' || input === 'symptoms' || input === 'cacs') return input;
  if (input === 'dyspnoea') return 'symptoms';
  return 'risk-factors';
}

/** Every resource the inputs rest on, in a stable order, each once. */
function basisOf(derived: DerivedPtpInputs): string[] {
  const out = [
    derived.patientRef,
    derived.symptomRef,
    ...RISK_FACTORS.flatMap((r) => derived.riskFactors[r].basis),
  ].filter((r): r is string => !!r);
  return [...new Set(out)];
}
