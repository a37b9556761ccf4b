/**
 * The model card (`model.json`): what a model folder promises about its ONNX graph, its input and its thresholds.
 * Parsed with zod; every bad field is reported with its dotted path and what was expected.
 */
import { type ModelInputSpec, type ModelRef, STANDARD_LEADS, VESSELS, type Vessel } from '@ecgcad/ecg';
import { z } from 'zod';
import { InvalidModelError } from './errors.js';

const probability = z.number().min(0, 'must be >= 0').max(1, 'must be <= 1');

const thresholdSchema = z
  .object({
    /** p < ruleOut: low. Chosen on the site's cohort for high sensitivity. */
    ruleOut: probability,
    /** p >= ruleIn: high. Chosen for high specificity. */
    ruleIn: probability,
    /** Sensitivity the rule-out threshold reached on the site's cohort (documentation only). */
    ruleOutSensitivity: probability.optional(),
    /** Specificity the rule-in threshold reached (documentation only). */
    ruleInSpecificity: probability.optional(),
  })
  .refine((t) => t.ruleOut <= t.ruleIn, { message: 'ruleOut must be <= ruleIn', path: ['ruleOut'] });

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/**
 * Where the thresholds came from when `ecgcad calibrate` derived them from a site's labelled cohort. Optional:
 * cards written by hand or by the model's authors have none. Documentation only: nothing reads it to score.
 */
const calibrationSchema = z.object({
  /** sha256 of the scores file the thresholds were derived from. */
  cohortSha256: sha256Schema,
  /** 'sens-spec' (target sensitivity / specificity) or 'study' (the study notebook's grid rule). */
  rule: z.enum(['sens-spec', 'study']),
  /** When the calibration ran (ISO 8601). */
  date: z.iso.datetime(),
  /** Version of the engine that ran it. */
  engineVersion: z.string().min(1),
  /** The card version the thresholds replaced. */
  calibratedFrom: z.string().min(1),
  bootstrap: z.object({ resamples: z.number().int().positive(), seed: z.number().int() }),
  /** Per vessel: the cohort and the targets the thresholds were chosen for. */
  vessels: z.partialRecord(
    z.enum(VESSELS),
    z.object({
      n: z.number().int().nonnegative(),
      positives: z.number().int().nonnegative(),
      auc: probability,
      targetSensitivity: probability.optional(),
      targetSpecificity: probability.optional(),
    }),
  ),
});

const noDuplicates = <T>(list: readonly T[]): boolean => new Set(list).size === list.length;

const inputSchema = z.object({
  name: z.string().min(1),
  leads: z.array(z.enum(STANDARD_LEADS)).min(1).refine(noDuplicates, { message: 'lead names must not repeat' }),
  sampleRateHz: z.number().positive().max(100_000),
  samples: z.number().int().positive().max(1_000_000),
  units: z.enum(['uV', 'mV']),
  layout: z.enum(['NCL', 'NLC']),
  filter: z
    .object({
      highpassHz: z.number().positive().optional(),
      lowpassHz: z.number().positive().optional(),
      notchHz: z.number().positive().optional(),
    })
    .optional(),
  normalize: z.enum(['none', 'zscore-record', 'zscore-per-lead']),
});

export const modelCardSchema = z
  .object({
    id: z.string().min(1).max(200),
    version: z.string().min(1).max(100),
    clinicalUse: z.boolean(),
    intendedUse: z.string().min(1),
    outcome: z.string().min(1),
    input: inputSchema,
    outputs: z.object({
      name: z.string().min(1),
      vessels: z.array(z.enum(VESSELS)).min(1).refine(noDuplicates, { message: 'vessel names must not repeat' }),
    }),
    thresholds: z.partialRecord(z.enum(VESSELS), thresholdSchema),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256 of model.onnx)'),
    calibration: calibrationSchema.optional(),
  })
  .superRefine((card, ctx) => {
    for (const vessel of card.outputs.vessels) {
      if (!card.thresholds[vessel]) {
        ctx.addIssue({
          code: 'custom',
          path: ['thresholds', vessel],
          message: `missing: every output vessel needs thresholds`,
        });
      }
    }
    for (const vessel of Object.keys(card.thresholds)) {
      if (!card.outputs.vessels.includes(vessel as Vessel)) {
        ctx.addIssue({ code: 'custom', path: ['thresholds', vessel], message: 'vessel is not in outputs.vessels' });
      }
    }
  });

/** A parsed, validated model card. */
export type ModelCard = z.infer<typeof modelCardSchema> & { input: ModelInputSpec };

/** The card's record of a site calibration. */
export type CardCalibration = z.infer<typeof calibrationSchema>;

/** Thresholds of one vessel. */
export type VesselThresholds = z.infer<typeof thresholdSchema>;

/**
 * Validates a parsed `model.json`. Throws InvalidModelError with one issue per bad field
 * (`input.samples: expected number, received string`); `field` is the first bad path.
 */
export function parseModelCard(json: unknown): ModelCard {
  const result = modelCardSchema.safeParse(json);
  if (result.success) return result.data as ModelCard;
  const issues = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  const first = result.error.issues[0];
  throw new InvalidModelError(first ? formatPath(first.path) : '(card)', issues);
}

/** The ModelRef a Prediction carries. */
export function modelRefOf(card: ModelCard): ModelRef {
  return {
    id: card.id,
    version: card.version,
    sha256: card.sha256,
    clinicalUse: card.clinicalUse,
    intendedUse: card.intendedUse,
    outcome: card.outcome,
  };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(card)' : path.map(String).join('.');
}
