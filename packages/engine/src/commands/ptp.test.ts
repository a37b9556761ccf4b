import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSubcommand } from '../../../../test/support/cli.js';
import { register } from './ptp.js';

const run = (args: string[]) => runSubcommand(register, 'ptp', args);
const patient = ['--age', '55', '--sex', 'male', '--symptoms', 'atypical', '--risk-factors', '2'];

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('ecgcad ptp', () => {
  it('prints the JSON shape with --json', async () => {
    const r = await run([...patient, '--cacs', '150', '--json']);
    expect(r.exitCode).toBeUndefined();
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.esc2019).toEqual({ percent: 17, category: 'high' });
    // RF-CL model at age 55, by hand: z = -2.1424.
    expect(out.esc2024.percent).toBeCloseTo(100 / (1 + Math.exp(2.1424)), 10);
    expect(out.esc2024).toMatchObject({ category: 'low', source: 'formula' });
    expect(out.cacsCl.category).toBe('moderate');
    expect(out.cacsCl.percent).toBeGreaterThan(15);
    expect(out.notes).toContain('ESC 2024 table cell (age 50-59, symptom score 2, risk factors 2-3): 11 %');
  });

  it('gives null for a model without a value', async () => {
    const r = await run(['--age', '45', '--sex', 'female', '--symptoms', 'none', '--risk-factors', '0', '--json']);
    const out = JSON.parse(r.stdout);
    expect(out.esc2019).toBeNull();
    expect(out.cacsCl).toBeNull();
    expect(out.esc2024.category).toBe('very low');
  });

  it('takes --dyspnoea beside chest pain: ESC 2019 keeps the chest-pain column, ESC 2024 scores 2', async () => {
    const args = ['--age', '45', '--sex', 'male', '--symptoms', 'non-anginal', '--risk-factors', '1', '--json'];
    const without = JSON.parse((await run(args)).stdout);
    const withDyspnoea = JSON.parse((await run([...args, '--dyspnoea'])).stdout);
    expect(withDyspnoea.esc2019).toEqual(without.esc2019);
    expect(without.notes).toContain('ESC 2024 table cell (age 40-49, symptom score 0-1, risk factors 0-1): 2 %');
    expect(withDyspnoea.notes).toContain('ESC 2024 table cell (age 40-49, symptom score 2, risk factors 0-1): 3 %');
  });

  it('takes the ESC 2024 percent from the table with --source table', async () => {
    const r = await run([...patient, '--source', 'table', '--json']);
    expect(JSON.parse(r.stdout).esc2024).toEqual({ percent: 11, category: 'low', source: 'table' });
  });

  it('prints a readable table without --json', async () => {
    const r = await run([...patient, '--cacs', '0']);
    expect(r.exitCode).toBeUndefined();
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^model\s+PTP\s+category\s+level$/);
    expect(r.stdout).toMatch(/^ESC 2019 \(table\)\s+17 %\s+high\s+high$/m);
    expect(r.stdout).toMatch(/^ESC 2024 RF-CL \(formula\)\s+10\.5 %\s+low\s+intermediate$/m);
    expect(r.stdout).toMatch(/^CACS-CL \(Winther 2020\)\s+2\.3 %\s+very low\s+low$/m);
    expect(r.stdout).toMatch(/^- CACS-CL: calcium score bin 0$/m);
    const none = await run(['--age', '45', '--sex', 'female', '--symptoms', 'none', '--risk-factors', '0']);
    expect(none.stdout).toMatch(/^ESC 2019 \(table\)\s+-\s+no cell for this patient$/m);
    expect(none.stdout).toMatch(/^CACS-CL \(Winther 2020\)\s+-\s+no calcium score given$/m);
  });

  it.each([
    [['--age', '25'], /^ecgcad ptp: --age: age is under 30/],
    [['--age', '81'], /^ecgcad ptp: --age: age is over 80, the end of the ESC 2024 RF-CL model/],
    [['--age', 'fifty'], /^ecgcad ptp: --age must be a number\n$/],
    [['--sex', 'x'], /^ecgcad ptp: --sex must be male or female\n$/],
    [
      ['--symptoms', 'angina'],
      /^ecgcad ptp: --symptoms must be one of typical, atypical, non-anginal, dyspnoea, none\n$/,
    ],
    [['--risk-factors', '7'], /^ecgcad ptp: --risk-factors: risk factors must be a whole number from 0 to 5\n$/],
    [['--cacs', '-5'], /^ecgcad ptp: --cacs: the coronary calcium score must be a number >= 0/],
    [['--source', 'guess'], /^ecgcad ptp: --source must be formula or table\n$/],
  ])('exits 2 with the reason for %j', async (change, reason) => {
    const args = [...patient];
    for (let i = 0; i < change.length; i += 2) {
      const at = args.indexOf(change[i] as string);
      if (at >= 0) args[at + 1] = change[i + 1] as string;
      else args.push(change[i] as string, change[i + 1] as string);
    }
    const r = await run(args);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(reason);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  it('exits 2 naming a missing option', async () => {
    const r = await run(['--age', '60', '--sex', 'male', '--symptoms', 'typical']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('ecgcad ptp: --risk-factors is required\n');
  });
});
