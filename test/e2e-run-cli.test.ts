/**
 * The built `ecgcad` command in embedded mode (no Redis): `ecgcad run <samples>` writes a Bundle per analysable file,
 * prints a clear line per refused one and exits non-zero (needs the shared samples); the no-argument demo
 * (`npm start`) works on the synthetic ECGs it writes itself, and a bad configuration value is named.
 * Needs the built CLI (`npx turbo run build`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { noteSkip, SAMPLES_DIR, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const CLI = fileURLToPath(new URL('../packages/engine/dist/cli.js', import.meta.url));
const built = existsSync(CLI);

function runCli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env: { ...process.env, ECGCAD_CONFIG: '' } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

describe.skipIf(!built)(`ecgcad run (${built ? 'built CLI' : 'CLI not built: run npx turbo run build'})`, () => {
  // Only this test needs the shared samples; the others run on what the command writes itself.
  it.skipIf(!samplesPresent)(
    `writes a Bundle per analysable sample, one line per refused file, and exits 1${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`,
    async () => {
      const cwd = await mkdtemp(join(tmpdir(), 'ecgcad-run-'));
      const result = await runCli(['run', '--out', 'bundles', SAMPLES_DIR], cwd);
      expect(result.code).toBe(1);
      const refused = result.stdout.split('\n').filter((line) => line.startsWith('refused '));
      for (const name of [
        'aecg_fda_empty_no_waveform.xml',
        'philips_sierraecg_1_03_129DYPRG.xml',
        'philips_sierraecg_1_04_utf16.xml',
        'philips_invalid_doctype_mortaraecg.xml',
      ]) {
        expect(refused.some((line) => line.includes(name) && /: [A-Z_]+: .{10,}/.test(line))).toBe(true);
      }
      // FDA's minimum aECG reuses the HL7 example's document id with other content: the later file (in input
      // order) is refused rather than merged into the first one's results.
      expect(refused.find((line) => line.includes('aecg_hl7_2003_example.xml'))).toMatch(
        /DUPLICATE_ID: same ECG id as aecg_fda_minimum_1lead\.xml but different content; the first one stands/,
      );
      for (const name of [
        'dicom_mortara_el250_12lead.dcm',
        'dicom_gemarquette_maclab_hemodynamic_12ch.dcm',
        'aecg_liryc_100hz_example.xml',
        'ge_muse_restingecg_example1.xml',
      ]) {
        expect(result.stdout).toMatch(new RegExp(`${name.slice(0, 30)}.*\\d\\.\\d{3} (low|mid|HIGH)`));
      }
      expect(result.stdout).toMatch(/aecg_fda_minimum_1lead\.xml\s+not analysable/);
      const files = (await readdir(join(cwd, 'bundles'))).filter((f) => f.endsWith('.json'));
      expect(files).toHaveLength(5);
      const bundle = JSON.parse(await readFile(join(cwd, 'bundles', files[0]!), 'utf8')) as {
        resourceType: string;
        type: string;
      };
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    },
  );

  it('the no-argument demo writes synthetic inputs and Bundles and says the model has no clinical meaning', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ecgcad-demo-'));
    const result = await runCli([], cwd);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/7 input\(s\): 7 Bundle\(s\) written/);
    expect(result.stdout).toMatch(/demo-07\.dcm +not analysable: flat leads \(lead off or no signal\): V3/);
    expect(result.stdout).toMatch(/NO clinical meaning/);
    expect((await readdir(join(cwd, 'out', 'demo-input'))).sort()).toHaveLength(7);
    const bundles = (await readdir(join(cwd, 'out', 'bundles'))).filter((f) => f.endsWith('.json'));
    expect(bundles).toHaveLength(7);
    // Embedded mode hands the decoded ECG to the writer: each ECG Observation carries the leads (fhir.waveform).
    for (const name of bundles) {
      const bundle = JSON.parse(await readFile(join(cwd, 'out', 'bundles', name), 'utf8')) as Bundle;
      const ecg = bundle.entry?.find((e) => e.resource?.resourceType === 'Observation')?.resource as Observation;
      expect(ecg.code.coding?.[0]?.code).toBe('34534-8');
      expect(ecg.component?.length).toBeGreaterThanOrEqual(8);
      expect(ecg.component?.[0]?.valueSampledData?.data?.split(' ').length).toBeGreaterThan(1000);
    }
  });

  it('a bad configuration value exits 2 with one line naming the key', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'ecgcad-cfg-'));
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'status'],
        { cwd, env: { ...process.env, ECGCAD_CONFIG: '', ECGCAD_REDIS_URL: 'http://nope' } },
        (err, _stdout, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/redis\.url: must be a redis:\/\/ or rediss:\/\/ URL/);
  });
});
