/**
 * The shape of a Prediction as the writer needs it, as a zod schema: a write job's JSON is checked against it
 * before a Bundle is built, so a malformed one fails naming its fields, never as a TypeError half way through.
 */
import { PermanentError, type Prediction, VESSELS } from '@ecgcad/ecg';
import { z } from 'zod';

const INSTANT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

/** A string that is there and not blank. */
const present = z.string('is missing').refine((s) => s.trim() !== '', 'is missing');
const optionalString = z.string('must be a string').optional();
/** An object member: `is missing` when absent, `must be an object` when something else. */
const objectError = (issue: { input?: unknown }) => (issue.input === undefined ? 'is missing' : 'must be an object');

const ecgSummary = z.object(
  {
    id: present,
    format: present,
    sha256: present,
    feed: present,
    acquiredAt: optionalString,
    patient: z.object({ identifier: optionalString, identifierSystem: optionalString }, { error: objectError }),
    device: z.object({ manufacturer: optionalString, model: optionalString }, { error: objectError }),
    leads: z.array(z.unknown(), 'must be an array'),
    sampleRateHz: z.number('must be a number'),
    durationS: z.number('must be a number'),
  },
  { error: objectError },
);

const modelRef = z.object(
  {
    id: present,
    version: present,
    sha256: present,
    intendedUse: present,
    outcome: present,
    clinicalUse: z.boolean('must be a boolean'),
  },
  { error: objectError },
);

const vessel = z.object(
  {
    vessel: z.enum(VESSELS, 'is not RCA, LM, LAD or LCx'),
    probability: z.number('must be in [0, 1]').min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]'),
    stratum: z.enum(['low', 'intermediate', 'high'], 'is not a stratum'),
  },
  { error: objectError },
);

const common = {
  ecg: ecgSummary,
  model: modelRef,
  predictedAt: z.string('must be an ISO 8601 instant').regex(INSTANT, 'must be an ISO 8601 instant'),
};

/** A Prediction (the infer stage's output, the write job's data). */
export const predictionSchema = z.discriminatedUnion(
  'status',
  [
    z.object({
      status: z.literal('scored'),
      ...common,
      vessels: z
        .array(vessel, 'must be a non-empty array')
        .min(1, 'must be a non-empty array')
        .superRefine((vessels, ctx) => {
          const seen = new Set<string>();
          vessels.forEach((v, i) => {
            if (seen.has(v.vessel)) ctx.addIssue({ code: 'custom', path: [i, 'vessel'], message: 'appears twice' });
            seen.add(v.vessel);
          });
        }),
    }),
    z.object({
      status: z.literal('not-analysable'),
      ...common,
      reasons: z.array(z.string('must be a string'), 'must be an array of strings'),
    }),
  ],
  {
    error: (issue: { code: string }) =>
      issue.code === 'invalid_type' ? 'must be an object' : 'must be scored or not-analysable',
  },
);

/** `vessels[0].stratum` from a zod issue path. */
function pathLabel(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/**
 * Checks the shape of a Prediction that arrived as job JSON. Throws a PermanentError that names every bad field
 * (`malformed prediction: vessels[0].stratum is not a stratum; ...`), never quoting a value.
 */
export function checkPrediction(prediction: unknown): asserts prediction is Prediction {
  const result = predictionSchema.safeParse(prediction);
  if (result.success) return;
  const issues = result.error.issues.map((issue) => {
    const path = pathLabel(issue.path);
    return `${path === '' ? 'prediction' : path} ${issue.message}`;
  });
  throw new PermanentError(`malformed prediction: ${issues.join('; ')}`);
}
