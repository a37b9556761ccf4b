/**
 * The shared folder beside the repo (../shared): real sample files in samples/, third-party schemas in schemas/. In
 * a user's own clone it may be absent: tests that need it then report skipped with the reason, and the checks that
 * can run on files the project writes itself still run. CI (.ci/run) fails early if it is missing, so there the
 * real-file tests always run. ECGCAD_SAMPLES_DIR moves the samples folder; the schemas are looked for beside it
 * (so pointing it at an empty folder hides both, which test/shared-absent.test.ts does).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SAMPLES_DIR =
  process.env.ECGCAD_SAMPLES_DIR ?? fileURLToPath(new URL('../../../shared/samples', import.meta.url));

/** True when the shared samples are present. */
export const samplesPresent: boolean = existsSync(`${SAMPLES_DIR}/SOURCES.md`);

/** Why sample tests are skipped, for `describe.skipIf(!samplesPresent)` titles. */
export const SAMPLES_SKIP_REASON = `shared samples not found at ${SAMPLES_DIR} (set ECGCAD_SAMPLES_DIR)`;

/** Third-party schemas (the HL7 aECG XML schema), beside the samples folder. */
export const SCHEMAS_DIR = join(dirname(SAMPLES_DIR), 'schemas');

/** The HL7 aECG (2003-12) schema that xmllint validates aECG files against. */
export const AECG_SCHEMA = join(SCHEMAS_DIR, 'aecg/2003-12-Schema/schema/PORT_MT020001.xsd');

/** True when the aECG schema is present. */
export const aecgSchemaPresent: boolean = existsSync(AECG_SCHEMA);

/** Why schema checks are skipped. */
export const SCHEMA_SKIP_REASON = `HL7 aECG schema not found at ${AECG_SCHEMA} (it lives beside the shared samples)`;

/** Reads one sample file as bytes. */
export function readSample(name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${SAMPLES_DIR}/${name}`));
}

/**
 * Prints one line naming the test file and why its tests skip. Call it at the top of a test file whose tests skip
 * without the shared folder: vitest's default reporter lists a skipped file without its describe titles.
 */
export function noteSkip(testFileUrl: string, reason: string): void {
  const file = relative(fileURLToPath(new URL('../..', import.meta.url)), fileURLToPath(testFileUrl));
  process.stderr.write(`skipped in ${file}: ${reason}\n`);
}
