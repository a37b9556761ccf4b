import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSubcommand } from '../../../../test/support/cli.js';
import { noteSkip, readSample, SAMPLES_SKIP_REASON, samplesPresent } from '../../../../test/support/samples.js';
import { register } from './inspect.js';

if (!samplesPresent) noteSkip(import.meta.url, SAMPLES_SKIP_REASON);

const run = (args: string[]) => runSubcommand(register, 'inspect', args);

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('ecgcad inspect', () => {
  it('exits 1 with one line on stderr for a file that is not an ECG, or is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecgcad-inspect-'));
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, 'hello world');
    const r = await run([junk]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^ecgcad: ${junk.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a recognised ECG format.*\n$`),
    );
    expect(r.stderr.split('\n')).toHaveLength(2);
    const missing = await run([join(dir, 'missing.xml')]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/: no such file\n$/);
  });

  describe.skipIf(!samplesPresent)(`on sample files${samplesPresent ? '' : ` (${SAMPLES_SKIP_REASON})`}`, () => {
    it('prints the JSON report with --json', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ecgcad-inspect-'));
      const file = join(dir, 'x.dcm');
      writeFileSync(file, readSample('dicom_mortara_el250_12lead.dcm'));
      const r = await run(['--json', file]);
      expect(r.exitCode).toBeUndefined();
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ format: 'dicom', sampleRateHz: 1000, durationS: 10 });
      expect(report.leads.II).toEqual({ samples: 10000, firstUv: [112.5, 106.25, 100] });
      expect(report.quality).toEqual({ analysable: true, reasons: [] });
    });

    it('prints a table without --json', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ecgcad-inspect-'));
      const file = join(dir, 'x.xml');
      writeFileSync(file, readSample('aecg_liryc_100hz_example.xml'));
      const r = await run([file]);
      expect(r.stdout).toMatch(/^format {4}aecg$/m);
      expect(r.stdout).toMatch(/^II {7}1000 {2}-160, -150, -140$/m);
      expect(r.stdout).toMatch(/^quality {3}analysable$/m);
    });
  });
});
