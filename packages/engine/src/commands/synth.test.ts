import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeEcg } from '@ecgcad/ecg';
import { decodeEcg } from '@ecgcad/ingest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSubcommand } from '../../../../test/support/cli.js';
import { register, runSynth } from './synth.js';

const run = (args: string[]) => runSubcommand(register, 'synth', args);

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ecgcad-synth-'));

describe('ecgcad synth', () => {
  it('writes N DICOM files named by seed, seed of file i = seed + i, and prints a summary line', async () => {
    const out = tmp();
    const r = await run(['--count', '3', '--format', 'dicom', '--out', out, '--seed', '98', '--no-progress']);
    expect(r.exitCode).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^wrote 3 dicom files \(12 leads, 500 Hz, 10 s\) synth-098\.dcm \.\. synth-100\.dcm to /);
    expect(readdirSync(out).sort()).toEqual(['synth-098.dcm', 'synth-099.dcm', 'synth-100.dcm']);
    const decoded = decodeEcg(new Uint8Array(readFileSync(join(out, 'synth-099.dcm'))), { feed: 'test' });
    expect(decoded.patient.identifier).toBe('SYN-99');
    const expected = synthesizeEcg({ seed: 99 }).leads.V4 as Float32Array;
    const got = decoded.leads.V4 as Float32Array;
    for (let k = 0; k < expected.length; k += 50)
      expect(Math.abs((got[k] as number) - (expected[k] as number))).toBeLessThanOrEqual(1.25 + 1e-3);
  });

  it('writes aECG with 8 leads at 1000 Hz, identical bytes on a second run', async () => {
    const a = tmp();
    const b = tmp();
    for (const out of [a, b]) {
      const r = await run([
        '--count',
        '2',
        '--format',
        'aecg',
        '--out',
        out,
        '--rate',
        '1000',
        '--leads',
        '8',
        '--duration',
        '5',
      ]);
      expect(r.exitCode).toBeUndefined();
    }
    expect(readdirSync(a)).toEqual(['synth-1.xml', 'synth-2.xml']);
    for (const f of readdirSync(a)) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f)))).toBe(true);
    const decoded = decodeEcg(new Uint8Array(readFileSync(join(a, 'synth-2.xml'))), { feed: 'test' });
    expect(decoded.sampleRateHz).toBe(1000);
    expect(Object.keys(decoded.leads)).toHaveLength(8);
    expect((decoded.leads.I as Float32Array).length).toBe(5000);
  });

  it('refuses bad arguments with a message and a non-zero exit', async () => {
    const out = tmp();
    for (const args of [
      ['--count', '0', '--format', 'dicom', '--out', out],
      ['--count', '2', '--format', 'scp', '--out', out],
      ['--count', '2', '--format', 'dicom', '--out', out, '--rate', '250'],
      ['--count', '2', '--format', 'dicom', '--out', out, '--leads', '3'],
      ['--count', '2', '--format', 'dicom'],
    ]) {
      const r = await run(args);
      expect(r.exitCode, args.join(' ')).not.toBe(0);
      expect(r.exitCode, args.join(' ')).toBeDefined();
      expect(r.stderr.length).toBeGreaterThan(0);
    }
    expect(readdirSync(out)).toEqual([]);
  });

  it('runSynth reports bytes and file names', async () => {
    const out = tmp();
    const s = await runSynth({ count: 2, format: 'dicom', out, seed: 7, durationS: 2, progress: false });
    expect(s).toMatchObject({ files: 2, firstFile: 'synth-7.dcm', lastFile: 'synth-8.dcm' });
    expect(s.bytes).toBe(readdirSync(out).reduce((n, f) => n + readFileSync(join(out, f)).length, 0));
  });
});
