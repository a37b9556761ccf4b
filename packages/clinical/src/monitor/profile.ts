/**
 * The reference profile of a model folder (`reference-profile.json`): binned distributions of the vessel outputs
 * and of the input statistics the model was calibrated or evaluated on, plus the stratum counts per vessel. Live
 * windows are binned with the same edges and compared with PSI (./psi.ts).
 *
 * Bins: vessel probabilities in tenths (edges 0.1 .. 0.9); sample rate and duration at fixed edges that separate
 * the usual cart settings; derived-lead share as none / the four limb leads / more; amplitude, noise and baseline
 * wander at the reference's own deciles (so each holds about 10 % of the reference).
 */
import { type InputStats, type Stratum, VESSELS, type Vessel } from '@ecgcad/ecg';
import { z } from 'zod';
import { STRATA, type StratumThresholds, stratumOf } from '../evaluate/strata.js';
import { histogram, PSI_MAJOR, PSI_MODERATE, populationStabilityIndex, quantileEdges } from './psi.js';

/** File name of the reference profile inside a model folder. */
export const REFERENCE_PROFILE_FILE = 'reference-profile.json';
export const REFERENCE_PROFILE_FORMAT = 'ecgcad-reference-profile/1';

/** The input measures, keyed by their `measure` label, with the InputStats field each reads. */
export const INPUT_MEASURES = {
  sample_rate_hz: 'sampleRateHz',
  duration_s: 'durationS',
  amplitude_mv: 'amplitudeMv',
  noise_uv: 'noiseUv',
  baseline_wander_uv: 'baselineWanderUv',
  derived_lead_share: 'derivedLeadShare',
} as const satisfies Record<string, keyof InputStats>;
export type InputMeasure = keyof typeof INPUT_MEASURES;

/** The `measure` label of a vessel's output. */
export const probabilityMeasure = (vessel: Vessel): string => `probability_${vessel}`;

/** Fixed edges; measures not listed here are cut at the reference's deciles. */
export const FIXED_EDGES: Readonly<Record<string, readonly number[]>> = {
  sample_rate_hz: [200, 300, 400, 600, 900, 1500],
  duration_s: [8, 9.5, 10.5, 12, 20],
  derived_lead_share: [0.01, 0.4],
  ...Object.fromEntries(VESSELS.map((v) => [probabilityMeasure(v), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]])),
};

const measureSchema = z
  .object({ edges: z.array(z.number()), counts: z.array(z.number().int().min(0)) })
  .refine((m) => m.counts.length === m.edges.length + 1, 'counts must have one entry more than edges')
  .refine((m) => m.edges.every((e, i) => i === 0 || e > (m.edges[i - 1] as number)), 'edges must ascend');

const strataSchema = z.object({
  low: z.number().int().min(0),
  intermediate: z.number().int().min(0),
  high: z.number().int().min(0),
});

export const referenceProfileSchema = z.object({
  format: z.literal(REFERENCE_PROFILE_FORMAT),
  createdAt: z.string(),
  /** What wrote it: `calibrate`, `evaluate`, or `live` (captured from the first N ECGs). */
  source: z.enum(['calibrate', 'evaluate', 'live']),
  model: z.object({ id: z.string(), version: z.string() }).optional(),
  /** ECGs (or scored cohort rows) it summarises. */
  n: z.number().int().min(0),
  measures: z.record(z.string(), measureSchema),
  /** Per vessel, the count of each stratum. */
  strata: z.partialRecord(z.enum(VESSELS), strataSchema).optional(),
});

/** Binned distribution of one measure. */
export type MeasureProfile = z.infer<typeof measureSchema>;
/** A reference profile. */
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;

/** A usable reference profile could not be read. */
export class ReferenceProfileError extends Error {
  override readonly name = 'ReferenceProfileError';
}

/** Parses and checks a reference profile (JSON text or a parsed value). */
export function parseReferenceProfile(input: string | unknown): ReferenceProfile {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new ReferenceProfileError('reference profile: not JSON');
    }
  }
  const parsed = referenceProfileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ReferenceProfileError(`reference profile: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/** One observation for a profile: any subset of the measures, and the strata where scored. */
export interface ProfileSample {
  values: Partial<Record<string, number>>;
  strata?: Partial<Record<Vessel, Stratum>>;
}

/** The measure values of one ECG: its input statistics and, where scored, its vessel probabilities. */
export function measureValues(
  stats: InputStats | undefined,
  probabilities?: Partial<Record<Vessel, number>>,
): Partial<Record<string, number>> {
  const values: Partial<Record<string, number>> = {};
  if (stats) for (const [measure, field] of Object.entries(INPUT_MEASURES)) values[measure] = stats[field];
  for (const [vessel, p] of Object.entries(probabilities ?? {})) {
    if (typeof p === 'number') values[probabilityMeasure(vessel as Vessel)] = p;
  }
  return values;
}

/** Builds a profile from samples: each measure present in any sample gets its bins (fixed or deciles). */
export function buildReferenceProfile(
  samples: readonly ProfileSample[],
  meta: { source: ReferenceProfile['source']; createdAt: string; model?: ReferenceProfile['model'] },
): ReferenceProfile {
  const byMeasure = new Map<string, number[]>();
  const strata: NonNullable<ReferenceProfile['strata']> = {};
  for (const sample of samples) {
    for (const [measure, v] of Object.entries(sample.values)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const list = byMeasure.get(measure);
      if (list) list.push(v);
      else byMeasure.set(measure, [v]);
    }
    for (const [vessel, s] of Object.entries(sample.strata ?? {}) as [Vessel, Stratum][]) {
      const row = strata[vessel] ?? { low: 0, intermediate: 0, high: 0 };
      row[s]++;
      strata[vessel] = row;
    }
  }
  const measures: Record<string, MeasureProfile> = {};
  for (const [measure, values] of [...byMeasure].sort(([a], [b]) => a.localeCompare(b))) {
    const edges = [...(FIXED_EDGES[measure] ?? quantileEdges(values))];
    measures[measure] = { edges, counts: histogram(edges, values) };
  }
  return {
    format: REFERENCE_PROFILE_FORMAT,
    createdAt: meta.createdAt,
    source: meta.source,
    ...(meta.model ? { model: meta.model } : {}),
    n: samples.length,
    measures,
    ...(Object.keys(strata).length > 0 ? { strata } : {}),
  };
}

/** How far one measure has moved. */
export interface DriftRow {
  measure: string;
  psi: number;
  /** Observations of the measure in the window. */
  n: number;
  level: 'no data' | 'stable' | 'moderate' | 'major';
  /** Reference and window shares per bin, for display. */
  expected: number[];
  actual: number[];
  edges: number[];
}

/** PSI of each reference measure against the window's counts on the same bins (missing counts: no data). */
export function driftRows(profile: ReferenceProfile, window: Readonly<Record<string, readonly number[]>>): DriftRow[] {
  return Object.entries(profile.measures).map(([measure, ref]) => {
    const counts = window[measure] ?? new Array<number>(ref.counts.length).fill(0);
    const n = counts.reduce((a, b) => a + b, 0);
    const psi = counts.length === ref.counts.length ? populationStabilityIndex(ref.counts, counts) : Number.NaN;
    const level = Number.isNaN(psi)
      ? 'no data'
      : psi > PSI_MAJOR
        ? 'major'
        : psi > PSI_MODERATE
          ? 'moderate'
          : 'stable';
    const share = (c: readonly number[]) => {
      const total = c.reduce((a, b) => a + b, 0);
      return c.map((x) => (total > 0 ? x / total : 0));
    };
    return { measure, psi, n, level, expected: share(ref.counts), actual: share(counts), edges: [...ref.edges] };
  });
}

/** A stratum's expected share and the band a window of `windowN` ECGs should stay in. */
export interface StratumBand {
  vessel: Vessel;
  stratum: Stratum;
  share: number;
  lower: number;
  upper: number;
}

/**
 * Expected share of each stratum per vessel with a band: share +- max(0.05, 3 standard errors of a share over
 * `windowN` ECGs). Three standard errors keep a stable site's false alarms rare; the 5-point floor keeps a large
 * window from alarming on shifts too small to matter clinically.
 */
export function stratumBands(profile: ReferenceProfile, windowN: number): StratumBand[] {
  const bands: StratumBand[] = [];
  for (const [vessel, counts] of Object.entries(profile.strata ?? {}) as [Vessel, Record<Stratum, number>][]) {
    const total = STRATA.reduce((a, s) => a + counts[s], 0);
    if (total === 0) continue;
    for (const stratum of STRATA) {
      const share = counts[stratum] / total;
      const halfWidth = Math.max(0.05, 3 * Math.sqrt((share * (1 - share)) / Math.max(1, windowN)));
      bands.push({
        vessel,
        stratum,
        share,
        lower: Math.max(0, share - halfWidth),
        upper: Math.min(1, share + halfWidth),
      });
    }
  }
  return bands;
}

/**
 * The reference profile of a scored cohort (a scores file's rows): each vessel's probabilities, and its strata under
 * `thresholds` (the calibrated ones). Input statistics are not in a scores file; the engine captures those live.
 */
export function cohortReferenceProfile(
  rows: ReadonlyArray<{ status: string; probabilities: Partial<Record<Vessel, number>> }>,
  thresholds: Partial<Record<Vessel, StratumThresholds>>,
  meta: { source: ReferenceProfile['source']; createdAt: string; model?: ReferenceProfile['model'] },
): ReferenceProfile {
  const samples: ProfileSample[] = [];
  for (const row of rows) {
    if (row.status !== 'scored') continue;
    const strata: Partial<Record<Vessel, Stratum>> = {};
    for (const [vessel, p] of Object.entries(row.probabilities) as [Vessel, number | undefined][]) {
      const t = thresholds[vessel];
      if (t && typeof p === 'number') strata[vessel] = stratumOf(p, t);
    }
    samples.push({ values: measureValues(undefined, row.probabilities), strata });
  }
  return buildReferenceProfile(samples, meta);
}
