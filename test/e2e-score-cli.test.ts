/**
 * The built `ecgcad score` on the real shared samples: each file gets its row (scored, not analysable, or refused
 * with a reason), the exit code says rows failed, a rerun skips what is there, an unusable manifest exits 2, and
 * the terminal names manifest lines, never file names. Needs the built CLI (`npx turbo run build`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readScores } from '@ecgcad/clinical';
import { describe, expect, it } from 'vitest';
import { SAMPLES_DIR, SAMPLES_SKIP_REASON, samplesPresent } from './support/samples.js';

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

const EXPECTED: Record<string, 'scored' | 'not-analysable' | 'refused'> = {
  'dicom_mortara_el250_12lead.dcm': 'scored',
  'dicom_gemarquette_maclab_hemodynamic_12ch.dcm': 'scored',
  'aecg_hl7_2003_example.xml': 'scored',
  'aecg_liryc_100hz_example.xml': 'scored',
  'ge_muse_restingecg_example1.xml': 'scored',
  'aecg_fda_minimum_1lead.xml': 'not-analysable',
  'aecg_fda_empty_no_waveform.xml': 'refused',
  'philips_sierraecg_1_03_129DYPRG.xml': 'refused',
  'philips_sierraecg_1_04_utf16.xml': 'refused',
  'philips_invalid_doctype_mortaraecg.xml': 'refused',
  'no_such_file.dcm': 'refused',
};

describe.skipIf(!built || !samplesPresent)(
  `ecgcad score (${!built ? 'CLI not built: run npx turbo run build' : samplesPresent ? 'built CLI' : SAMPLES_SKIP_REASON})`,
  () => {
    it('scores the real samples, gives every other file its reason, resumes, and exits 1', async () => {
      const cwd = await mkdtemp(join(tmpdir(), 'ecgcad-score-cli-'));
      const names = Object.keys(EXPECTED);
      const manifest = ['path,label_LAD,age', ...names.map((name, i) => `${join(SAMPLES_DIR, name)},${i % 2},60`)];
      await writeFile(join(cwd, 'manifest.csv'), `${manifest.join('\n')}\n`);
      const first = await runCli(['score', '--manifest', 'manifest.csv', '--out', 'scores.csv'], cwd);
      expect(first.code, first.stderr).toBe(1);
      const text = await readFile(join(cwd, 'scores.csv'), 'utf8');
      const rows = readScores(text);
      expect(rows.map((r) => r.path)).toEqual(names.map((name) => join(SAMPLES_DIR, name)));
      names.forEach((name, i) => {
        const row = rows[i];
        expect(row?.status, name).toBe(EXPECTED[name]);
        expect(row?.labels.LAD).toBe(i % 2);
        if (row?.status === 'scored') expect(Object.keys(row.probabilities)).toEqual(['RCA', 'LM', 'LAD', 'LCx']);
        else expect(row?.reason, name).toMatch(/.{10,}/);
      });
      expect(first.stdout).toMatch(
        /11 manifest row\(s\): 0 already in the output, 5 scored, 1 not analysable, 5 refused/,
      );
      expect(first.stdout).toMatch(/manifest line 12: refused: NOT_FOUND: no file at this path/);
      for (const name of names) expect(first.stdout).not.toContain(name);

      const again = await runCli(['score', '--manifest', 'manifest.csv', '--out', 'scores.csv'], cwd);
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(/11 already in the output, 0 scored/);
      expect(await readFile(join(cwd, 'scores.csv'), 'utf8')).toBe(text);

      await writeFile(join(cwd, 'bad.csv'), 'file\nx.dcm\n');
      const bad = await runCli(['score', '--manifest', 'bad.csv', '--out', 'other.csv'], cwd);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/no "path" column/);
    });
  },
);
