import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Evaluation,
  formatScoreRows,
  parseReferenceProfile,
  REFERENCE_PROFILE_FILE,
  scoresHeader,
  syntheticCohort,
} from '@ecgcad/clinical';
import { generateModelFolder } from '@ecgcad/infer';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runSubcommand } from '../../../../test/support/cli.js';
import { register } from './evaluate.js';

const run = (args: string[]) => runSubcommand(register, 'evaluate', args);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'ecgcad-evaluate-'));

let root: string;
let modelDir: string;
let scores: string;

beforeAll(async () => {
  root = tmp();
  modelDir = join(root, 'model');
  await generateModelFolder({ outDir: modelDir, calibrationExamples: 0 });
  scores = join(root, 'scores.csv');
  writeFileSync(scores, scoresHeader() + formatScoreRows(syntheticCohort({ n: 400, seed: 4, allNegative: ['LM'] })));
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('ecgcad evaluate', () => {
  it('writes report.html and evaluation.json, prints one line per vessel and the clinical-use warning', async () => {
    const out = join(tmp(), 'report');
    const r = await run(['--scores', scores, '--model', modelDir, '--out', out, '--bootstrap', '100']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBeUndefined();
    expect(readdirSync(out).sort()).toEqual(['evaluation.json', 'reference-profile.json', 'report.html']);
    // The drift reference: the cohort's outputs, and its strata under the card's thresholds; not in the model
    // folder unless asked.
    const profile = parseReferenceProfile(readFileSync(join(out, REFERENCE_PROFILE_FILE), 'utf8'));
    expect(profile).toMatchObject({ source: 'evaluate', n: 400, model: { id: 'ecgcad-demo' } });
    expect(Object.values(profile.strata?.RCA ?? {}).reduce((a, b) => a + b, 0)).toBe(400);
    expect(existsSync(join(modelDir, REFERENCE_PROFILE_FILE))).toBe(false);
    const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')) as Evaluation;
    expect(evaluation.schema).toBe('ecgcad-evaluation/1');
    expect(evaluation.model).toMatchObject({ id: 'ecgcad-demo', clinicalUse: false });
    expect(evaluation.source?.file).toBe('scores.csv');
    expect(evaluation.source?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(evaluation.settings.bootstrap).toEqual({ resamples: 100, seed: 42 });
    expect(evaluation.settings.ptp).toMatchObject({ model: 'ESC 2024 RF-CL', matrixWarnings: [] });
    expect(evaluation.vessels.map((v) => [v.vessel, v.evaluable])).toEqual([
      ['RCA', true],
      ['LM', false],
      ['LAD', true],
      ['LCx', true],
    ]);
    // The card's thresholds are the ones evaluated.
    expect(evaluation.vessels[0]?.thresholds).toEqual({ ruleOut: 0.15, ruleIn: 0.4 });
    expect(evaluation.vessels[0]?.ptpComparison?.n).toBe(400);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('NOT FOR CLINICAL USE: the model card says clinicalUse: false');
    expect(lines[1]).toMatch(
      /^RCA: n 400, \d+ positive, AUC 0\.\d{3} \(DeLong 95 % CI 0\.\d{3}-0\.\d{3}\), Brier 0\.\d{4}$/,
    );
    expect(lines[2]).toMatch(/^LM: not evaluable \(0 positive and 400 negative/);
    expect(lines.at(-1)).toBe(`wrote ${join(out, 'report.html')} and ${join(out, 'evaluation.json')}`);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('NOT FOR CLINICAL USE');
  });

  it('writes the reference profile into the model folder with --write-reference', async () => {
    const out = join(tmp(), 'report');
    const r = await run([
      '--scores',
      scores,
      '--model',
      modelDir,
      '--out',
      out,
      '--bootstrap',
      '20',
      '--write-reference',
    ]);
    expect(r.exitCode).toBeUndefined();
    const written = readFileSync(join(modelDir, REFERENCE_PROFILE_FILE), 'utf8');
    expect(written).toBe(readFileSync(join(out, REFERENCE_PROFILE_FILE), 'utf8'));
    expect(parseReferenceProfile(written).measures.probability_LAD?.counts.reduce((a, b) => a + b, 0)).toBe(400);
  });

  it('is reproducible: the same seed gives the same JSON apart from the time stamp', async () => {
    const a = tmp();
    const b = tmp();
    for (const out of [a, b]) await run(['--scores', scores, '--model', modelDir, '--out', out, '--bootstrap', '50']);
    const read = (dir: string) => {
      const e = JSON.parse(readFileSync(join(dir, 'evaluation.json'), 'utf8')) as Evaluation;
      return { ...e, generatedAt: '' };
    };
    expect(read(a)).toEqual(read(b));
  });

  it("uses a site's matrix from --matrix, and refuses a bad one naming the cell", async () => {
    const good = join(root, 'esc2019.json');
    writeFileSync(
      good,
      JSON.stringify({
        ptpModel: 'esc2019',
        cells: {
          low: { low: 'low', intermediate: 'low', high: 'high' },
          intermediate: { low: 'low', intermediate: 'intermediate', high: 'high' },
          high: { low: 'intermediate', intermediate: 'high', high: 'high' },
        },
      }),
    );
    const out = tmp();
    const r = await run(['--scores', scores, '--model', modelDir, '--out', out, '--bootstrap', '20', '--matrix', good]);
    expect(r.exitCode).toBeUndefined();
    const e = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')) as Evaluation;
    expect(e.settings.ptp).toMatchObject({ model: 'ESC 2019 PTP', matrixSource: 'esc2019.json' });
    // PTP low with AI high jumps two levels: a departure from the default, said in the JSON, report and terminal.
    expect(e.settings.ptp?.matrixWarnings.length).toBeGreaterThan(0);
    expect(r.stdout).toContain(`matrix: ${e.settings.ptp?.matrixWarnings[0]}`);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('class="notice matrix-warnings"');
    // ESC 2019 has no cell for patients without chest pain or dyspnoea: they are counted, not guessed.
    expect(e.vessels[0]?.ptpComparison?.missing['no ESC 2019 PTP value']).toBeGreaterThan(0);

    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ptpModel: 'esc2024', cells: { low: {}, intermediate: {}, high: {} } }));
    const out2 = tmp();
    const r2 = await run(['--scores', scores, '--model', modelDir, '--out', out2, '--matrix', bad]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toMatch(/^ecgcad evaluate: .*bad\.json: reclassification matrix: cell PTP low x AI low/);
    expect(readdirSync(out2)).toEqual([]);
  });

  it('refuses a bad scores file with exit code 2, naming column and line, and writes nothing', async () => {
    const lines = readFileSync(scores, 'utf8').split('\n');
    const cells = (lines[2] as string).split(',');
    cells[2] = 'NaN'; // RCA of the second data row, line 3
    const nan = join(root, 'nan.csv');
    writeFileSync(nan, [lines[0], lines[1], cells.join(','), ...lines.slice(3)].join('\n'));
    const out = join(tmp(), 'never');
    const r = await run(['--scores', nan, '--model', modelDir, '--out', out]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`ecgcad evaluate: ${nan}: line 3, column "RCA": probability must be a number from 0 to 1\n`);
    expect(existsSync(out)).toBe(false);

    const missing = join(root, 'missing.csv');
    writeFileSync(missing, 'ecg_id,path,RCA,LM,LAD\nA,a.dcm,0.1,0.2,0.3\n');
    const r2 = await run(['--scores', missing, '--model', modelDir, '--out', out]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toContain('missing column "LCx"');

    const r3 = await run(['--scores', join(root, 'absent.csv'), '--model', modelDir, '--out', out]);
    expect(r3.exitCode).toBe(2);
    expect(r3.stderr).toMatch(/cannot read the scores file .*absent\.csv: ENOENT/);
  });

  it('refuses a folder that is not a model with exit code 2', async () => {
    const r = await run(['--scores', scores, '--model', root, '--out', tmp()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^ecgcad evaluate: .*invalid model: cannot read model\.json/);
  });
});
