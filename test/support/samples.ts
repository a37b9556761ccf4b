/**
 * The shared real-sample folder (../shared/samples beside the repo). In a user's own clone it may be absent:
 * tests then report skipped with the reason. CI (.ci/run) fails early if it is missing, so there they always run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SAMPLES_DIR =
  process.env.ECGCAD_SAMPLES_DIR ?? fileURLToPath(new URL('../../../shared/samples', import.meta.url));

/** True when the shared samples are present. */
export const samplesPresent: boolean = existsSync(`${SAMPLES_DIR}/SOURCES.md`);

/** Why sample tests are skipped, for `describe.skipIf(!samplesPresent)` titles. */
export const SAMPLES_SKIP_REASON = `shared samples not found at ${SAMPLES_DIR} (set ECGCAD_SAMPLES_DIR)`;

/** Reads one sample file as bytes. */
export function readSample(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${SAMPLES_DIR}/${name}`));
}
