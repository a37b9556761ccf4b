/**
 * A fresh clone has no ../shared folder: the tests that need its sample files or schemas must then skip with one
 * reason line, and the checks on files the project writes itself must still run and pass. CI has the folder, so
 * this test proves that path by running two such files in a child vitest with ECGCAD_SAMPLES_DIR pointing into an
 * empty folder (test/support/samples.ts looks for the schemas beside the samples, so both are hidden).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const empty = mkdtempSync(join(tmpdir(), 'ecgcad-no-shared-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

interface JsonReport {
  numFailedTestSuites: number;
  numFailedTests: number;
  numPassedTests: number;
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string }> }>;
}

describe('without the shared folder', () => {
  it('the sample and schema tests skip with one reason line per file; the synthetic-file tests pass', async () => {
    const samples = join(empty, 'samples');
    const report = join(empty, 'report.json');
    // The child must not think it runs inside this vitest.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const { stderr } = await promisify(execFile)(
      join(root, 'node_modules/.bin/vitest'),
      ['run', 'test/infer-samples.test.ts', 'test/writers.test.ts', '--reporter=json', `--outputFile=${report}`],
      { cwd: root, env: { ...env, ECGCAD_SAMPLES_DIR: samples }, timeout: 300_000 },
    );
    const results = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
    const tests = results.testResults.flatMap((file) => file.assertionResults);
    const statusOf = (pattern: RegExp) => tests.filter((t) => pattern.test(t.fullName)).map((t) => t.status);

    expect(results.numFailedTestSuites).toBe(0);
    expect(results.numFailedTests).toBe(0);
    // Real-file tests skipped, with the reason in their titles...
    expect(statusOf(/infer on the shared samples \(shared samples not found/)).toEqual(['skipped', 'skipped']);
    expect(statusOf(/validates against PORT_MT020001\.xsd \(HL7 aECG schema not found/)).toEqual(
      Array(4).fill('skipped'),
    );
    expect(statusOf(/real samples re-written \(shared samples not found/)).toEqual(Array(3).fill('skipped'));
    // ...and one line each in the output.
    const lines = stderr.split('\n').filter((line) => line.startsWith('skipped in '));
    expect(lines).toEqual(
      expect.arrayContaining([
        `skipped in test/infer-samples.test.ts: shared samples not found at ${samples} (set ECGCAD_SAMPLES_DIR)`,
        `skipped in test/writers.test.ts: shared samples not found at ${samples} (set ECGCAD_SAMPLES_DIR)`,
        expect.stringMatching(/^skipped in test\/writers\.test\.ts: HL7 aECG schema not found at /),
      ]),
    );
    expect(lines).toHaveLength(3);
    // The checks on files the project writes itself ran and passed.
    expect(statusOf(/infer on files the project writes/)).toEqual(['passed', 'passed']);
    expect(statusOf(/round trip: synthesize -> write -> decodeEcg/).every((s) => s === 'passed')).toBe(true);
    expect(statusOf(/DICOM .* passes/).length).toBeGreaterThan(0);
    expect(statusOf(/DICOM .* passes/).every((s) => s === 'passed')).toBe(true);
  });
});
