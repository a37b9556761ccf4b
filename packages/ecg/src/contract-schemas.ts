/**
 * The contracts between the stages as zod schemas: the Prediction and the data of each queue's jobs. A stage checks
 * what it reads from a queue against them, so malformed job JSON fails for good (PermanentError, to the dead-letter
 * set) with a message naming each bad field, never as a TypeError half way through, and never quoting a value.
 */
import { z } from 'zod';
import { type InferJobData, type IngestJobData, type Prediction, VESSELS, type WriteJobData } from './contracts.js';
import { PermanentError } from './errors.js';

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
    thresholds: z
      .object(
        {
          ruleOut: z.number('must be in [0, 1]').min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]'),
          ruleIn: z.number('must be in [0, 1]').min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]'),
        },
        { error: objectError },
      )
      .refine((t) => t.ruleOut <= t.ruleIn, { message: 'ruleOut must be <= ruleIn', path: ['ruleOut'] })
      .optional(),
  },
  { error: objectError },
);

/** A finite number (JSON has no NaN; a map value that is not a number fails here, not in the FHIR writer). */
const finite = z.number('must be a finite number').refine(Number.isFinite, 'must be a finite number');

/** An occlusion-sensitivity map: every vessel's map is leads x windows, the same shape for every vessel. */
const attribution = z
  .object(
    {
      method: z.literal('occlusion', 'must be occlusion'),
      windowS: z.number('must be a positive number').positive('must be a positive number'),
      startS: z.number('must be a number >= 0').min(0, 'must be a number >= 0'),
      leads: z.array(present, 'must be an array of lead names').min(1, 'must name at least one lead'),
      vessels: z.partialRecord(
        z.enum(VESSELS, 'is not RCA, LM, LAD or LCx'),
        z.array(z.array(finite, 'must be an array of numbers').min(1, 'must have a window'), 'must be an array'),
        { error: objectError },
      ),
    },
    { error: objectError },
  )
  .superRefine((a, ctx) => {
    let windows: number | undefined;
    for (const [vessel, map] of Object.entries(a.vessels)) {
      if (!map) continue;
      if (map.length !== a.leads.length) {
        ctx.addIssue({ code: 'custom', path: ['vessels', vessel], message: 'must have one row per lead' });
      }
      map.forEach((row, i) => {
        windows ??= row.length;
        if (row.length !== windows) {
          ctx.addIssue({
            code: 'custom',
            path: ['vessels', vessel, i],
            message: 'must have as many windows as the others',
          });
        }
      });
    }
  });

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
      attribution: attribution.optional(),
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

/** Data of an `ecg.ingest` job. */
export const ingestJobDataSchema = z.object(
  { payloadKey: present, feed: present, receivedAt: present, name: optionalString, sha256: optionalString },
  'must be an object',
);

/** Data of an `ecg.infer` job. */
export const inferJobDataSchema = z.object(
  { ecgId: present, sha256: optionalString, payloadKey: present, receivedAt: present, feed: optionalString },
  'must be an object',
);

/** Data of an `ecg.write` job. */
export const writeJobDataSchema = z.object(
  { prediction: predictionSchema, payloadKey: optionalString },
  'must be an object',
);

/** `vessels[0].stratum` from a zod issue path. */
function pathLabel(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/**
 * Checks `value` against `schema`; throws a PermanentError `malformed <what>: <field> <problem>; ...` naming every
 * bad field (messages name fields and rules, never values).
 */
export function checkContract<T>(schema: z.ZodType<T>, value: unknown, what: string): asserts value is T {
  const result = schema.safeParse(value);
  if (result.success) return;
  const issues = result.error.issues.map((issue) => {
    const path = pathLabel(issue.path);
    return `${path === '' ? what : path} ${issue.message}`;
  });
  throw new PermanentError(`malformed ${what}: ${issues.join('; ')}`);
}

/** Checks a Prediction that arrived as job JSON (see {@link checkContract}). */
export function checkPrediction(prediction: unknown): asserts prediction is Prediction {
  checkContract(predictionSchema, prediction, 'prediction');
}

/** Checks the data of an `ecg.ingest` job. */
export function checkIngestJobData(data: unknown): asserts data is IngestJobData {
  checkContract(ingestJobDataSchema, data, 'ingest job data');
}

/** Checks the data of an `ecg.infer` job. */
export function checkInferJobData(data: unknown): asserts data is InferJobData {
  checkContract(inferJobDataSchema, data, 'infer job data');
}

/** Checks the data of an `ecg.write` job. */
export function checkWriteJobData(data: unknown): asserts data is WriteJobData {
  checkContract(writeJobDataSchema, data, 'write job data');
}
