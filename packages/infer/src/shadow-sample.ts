/**
 * Which ECGs the shadow model scores when `model.shadow.fraction` is below 1: a hash of the ECG id, not a random
 * draw, so a replay, a retried job or a second infer worker picks the same ECGs, and the report compares like
 * with like.
 */
import { createHash } from 'node:crypto';

/** The ECG id's place in [0, 1): the first 32 bits of its sha256. */
export function shadowSampleKey(ecgId: string): number {
  return createHash('sha256').update(ecgId, 'utf8').digest().readUInt32BE(0) / 2 ** 32;
}

/** Whether the shadow scores this ECG: all of them at fraction >= 1, none at <= 0, else by the id's hash. */
export function inShadowSample(ecgId: string, fraction: number): boolean {
  if (fraction >= 1) return true;
  if (!(fraction > 0)) return false;
  return shadowSampleKey(ecgId) < fraction;
}
