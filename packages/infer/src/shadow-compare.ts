/**
 * Shadow mode's arithmetic, pure: one record per ECG scored by both the live and the shadow model, and the
 * per-vessel agreement over many records (3x3 stratum matrix live x shadow, agreement, Cohen's kappa, mean
 * |p_shadow - p_live|, and how many written results the shadow would have moved to another stratum, up or down).
 * The metrics, the durable store and `ecgcad shadow report` all read these, so they count the same way.
 */
import type { Prediction, Stratum, Vessel, VesselPrediction } from '@ecgcad/ecg';

/** Strata in rising order: the rows (live) and columns (shadow) of a matrix. */
export const STRATA: readonly Stratum[] = ['low', 'intermediate', 'high'];

/** One model's side of a shadow record. */
export interface ShadowSide {
  /** `<model id>@<card version>`: what the Device identifier of a written result carries. */
  model: string;
  vessels: VesselPrediction[];
}

/**
 * One ECG scored by both models. Holds no patient data: the ECG id (an opaque instance UID), model names,
 * probabilities and strata.
 */
export interface ShadowRecord {
  ecgId: string;
  /** When the pair was scored (ISO 8601). */
  at: string;
  live: ShadowSide;
  shadow: ShadowSide;
  /**
   * Whether the live result was written: embedded mode, the sink accepted the Bundle; queued mode, the result was
   * handed to `ecg.write` (whose worker retries it until the EHR takes it or it is dead-lettered).
   */
  written: boolean;
}

/** `<id>@<version>` of a Prediction's model. */
export function modelTag(model: { id: string; version: string }): string {
  return `${model.id}@${model.version}`;
}

type Scored = Extract<Prediction, { status: 'scored' }>;

/** The record of one ECG that both models scored. */
export function shadowRecordOf(live: Scored, shadow: Scored, written: boolean, at = new Date()): ShadowRecord {
  return {
    ecgId: live.ecg.id,
    at: at.toISOString(),
    live: {
      model: modelTag(live.model),
      vessels: live.vessels.map(({ vessel, probability, stratum }) => ({ vessel, probability, stratum })),
    },
    shadow: {
      model: modelTag(shadow.model),
      vessels: shadow.vessels.map(({ vessel, probability, stratum }) => ({ vessel, probability, stratum })),
    },
    written,
  };
}

/** One vessel of one record: the two models' outputs side by side. */
export interface VesselPair {
  vessel: Vessel;
  live: VesselPrediction;
  shadow: VesselPrediction;
}

/** The vessels both models score, in the live model's order. */
export function vesselPairs(record: Pick<ShadowRecord, 'live' | 'shadow'>): VesselPair[] {
  const pairs: VesselPair[] = [];
  for (const live of record.live.vessels) {
    const shadow = record.shadow.vessels.find((v) => v.vessel === live.vessel);
    if (shadow) pairs.push({ vessel: live.vessel, live, shadow });
  }
  return pairs;
}

/** How the shadow would have moved a result: same stratum, a higher one, or a lower one. */
export function stratumChange(live: Stratum, shadow: Stratum): 'same' | 'up' | 'down' {
  const d = STRATA.indexOf(shadow) - STRATA.indexOf(live);
  return d === 0 ? 'same' : d > 0 ? 'up' : 'down';
}

/** Agreement of the two models on one vessel. */
export interface VesselAgreement {
  vessel: Vessel;
  /** Records holding this vessel in both models. */
  n: number;
  /** matrix[live][shadow], indices in STRATA order. */
  matrix: number[][];
  /** Share of records in the same stratum (undefined when n is 0). */
  agreement: number | undefined;
  /** Cohen's kappa of the two stratifications (undefined when n is 0 or chance agreement is 1). */
  kappa: number | undefined;
  /** Mean |p_shadow - p_live| (undefined when n is 0). */
  meanAbsDiff: number | undefined;
  /** Written results (live result written) holding this vessel, and how many the shadow would have moved. */
  written: { n: number; changed: number; up: number; down: number };
}

/** The whole comparison: per vessel, and over ECGs (a written result changed when any vessel's stratum moved). */
export interface ShadowComparison {
  /** Distinct ECGs compared (the last record of an ECG counts: a replay or retry replaces the earlier one). */
  ecgs: number;
  live: string[];
  shadow: string[];
  vessels: VesselAgreement[];
  written: { n: number; changed: number };
}

function emptyMatrix(): number[][] {
  return STRATA.map(() => STRATA.map(() => 0));
}

/** Cohen's kappa of a square count matrix; undefined when empty or when chance agreement is 1. */
export function cohensKappa(matrix: readonly (readonly number[])[]): number | undefined {
  const k = matrix.length;
  let n = 0;
  let observed = 0;
  const rows = new Array<number>(k).fill(0);
  const cols = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const c = matrix[i]?.[j] ?? 0;
      n += c;
      rows[i] = (rows[i] as number) + c;
      cols[j] = (cols[j] as number) + c;
      if (i === j) observed += c;
    }
  }
  if (n === 0) return undefined;
  let expected = 0;
  for (let i = 0; i < k; i++) expected += ((rows[i] as number) * (cols[i] as number)) / (n * n);
  if (expected >= 1) return undefined;
  return (observed / n - expected) / (1 - expected);
}

/** Keeps the last record of each ECG (a replay or a retried job records the same ECG again). */
export function latestPerEcg(records: Iterable<ShadowRecord>): ShadowRecord[] {
  const byEcg = new Map<string, ShadowRecord>();
  for (const record of records) {
    byEcg.delete(record.ecgId);
    byEcg.set(record.ecgId, record);
  }
  return [...byEcg.values()];
}

/** Compares the two models over records (deduplicated per ECG first). */
export function compareShadow(records: Iterable<ShadowRecord>): ShadowComparison {
  const latest = latestPerEcg(records);
  const byVessel = new Map<Vessel, { matrix: number[][]; absDiff: number; written: VesselAgreement['written'] }>();
  const live = new Set<string>();
  const shadow = new Set<string>();
  const written = { n: 0, changed: 0 };
  for (const record of latest) {
    live.add(record.live.model);
    shadow.add(record.shadow.model);
    let changed = false;
    for (const pair of vesselPairs(record)) {
      let acc = byVessel.get(pair.vessel);
      if (!acc) {
        acc = { matrix: emptyMatrix(), absDiff: 0, written: { n: 0, changed: 0, up: 0, down: 0 } };
        byVessel.set(pair.vessel, acc);
      }
      const row = acc.matrix[STRATA.indexOf(pair.live.stratum)] as number[];
      const col = STRATA.indexOf(pair.shadow.stratum);
      row[col] = (row[col] as number) + 1;
      acc.absDiff += Math.abs(pair.shadow.probability - pair.live.probability);
      if (record.written) {
        const change = stratumChange(pair.live.stratum, pair.shadow.stratum);
        acc.written.n++;
        if (change !== 'same') {
          acc.written.changed++;
          acc.written[change]++;
          changed = true;
        }
      }
    }
    if (record.written) {
      written.n++;
      if (changed) written.changed++;
    }
  }
  const vessels: VesselAgreement[] = [...byVessel].map(([vessel, acc]) => {
    const n = acc.matrix.flat().reduce((a, b) => a + b, 0);
    const agreed = STRATA.reduce((sum, _, i) => sum + (acc.matrix[i]?.[i] ?? 0), 0);
    return {
      vessel,
      n,
      matrix: acc.matrix,
      agreement: n === 0 ? undefined : agreed / n,
      kappa: cohensKappa(acc.matrix),
      meanAbsDiff: n === 0 ? undefined : acc.absDiff / n,
      written: acc.written,
    };
  });
  return { ecgs: latest.length, live: [...live], shadow: [...shadow], vessels, written };
}
