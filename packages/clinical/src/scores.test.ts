import { describe, expect, it } from 'vitest';
import {
  formatScoreRows,
  labelled,
  parseClinicalColumns,
  parseCsv,
  readScores,
  SCORE_COLUMNS,
  type ScoreRow,
  ScoresFileError,
  scoresHeader,
} from './scores.js';

const scored: Omit<ScoreRow, 'line'> = {
  ecgId: '1.2.826.0.1.3680043.10.1.7',
  path: 'ecgs/a, b.dcm',
  probabilities: { RCA: 0.12345679104328156, LM: 0, LAD: 1, LCx: 1e-7 },
  labels: { RCA: 1, LM: 0, LAD: 0 },
  age: 61.5,
  sex: 'female',
  symptoms: 'atypical',
  riskFactors: 3,
  cacs: 120,
  maceDays: 730,
  maceEvent: 0,
  model: 'ecgcad-demo@1.0.0',
  status: 'scored',
};
const refused: Omit<ScoreRow, 'line'> = {
  ecgId: '',
  path: 'ecgs/"quoted".xml',
  probabilities: {},
  labels: { LCx: 1 },
  status: 'refused',
  reason: 'MALFORMED: not an ECG: "x"',
};

/** Errors thrown by fn, as ScoresFileError. */
function errorOf(fn: () => unknown): ScoresFileError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ScoresFileError);
    return err as ScoresFileError;
  }
  throw new Error('expected a ScoresFileError');
}

/** A scores file with one column's cell replaced in the first data row. */
function withCell(column: string, value: string): string {
  const [header, row] = [scoresHeader(), formatScoreRows([scored])];
  const cells = parseCsv(header + row).records[0] as Record<string, string>;
  cells[column] = value;
  return `${header}${SCORE_COLUMNS.map((c) => JSON.stringify(cells[c] ?? '')).join(',')}\n`;
}

describe('scores file', () => {
  it('round-trips rows exactly: floats, quoting, clinical columns, reasons', () => {
    const text = scoresHeader() + formatScoreRows([scored, refused]);
    const rows = readScores(text);
    expect(rows).toEqual([
      { ...scored, line: 2 },
      { ...refused, line: 3 },
    ]);
    expect(scoresHeader().trim()).toBe(SCORE_COLUMNS.join(','));
  });

  it('appends: header once, then rows written by later runs read back in order', () => {
    const first = scoresHeader() + formatScoreRows([scored]);
    const resumed = first + formatScoreRows([refused]) + formatScoreRows([{ ...scored, path: 'c.dcm' }]);
    expect(readScores(resumed).map((r) => [r.path, r.line])).toEqual([
      ['ecgs/a, b.dcm', 2],
      ['ecgs/"quoted".xml', 3],
      ['c.dcm', 4],
    ]);
  });

  it('names the missing column', () => {
    const text = 'ecg_id,path,RCA,LM,LCx\nx,a.dcm,0.1,0.2,0.3\n';
    const err = errorOf(() => readScores(text));
    expect(err.column).toBe('LAD');
    expect(err.message).toContain('"LAD"');
  });

  it('names column and line of a NaN probability, and does not echo the cell', () => {
    const err = errorOf(() => readScores(withCell('LAD', 'NaN')));
    expect(err.column).toBe('LAD');
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/line 2, column "LAD"/);
    expect(errorOf(() => readScores(withCell('RCA', '1.5'))).column).toBe('RCA');
    expect(errorOf(() => readScores(withCell('LM', '-0.01'))).column).toBe('LM');
  });

  it('counts blank lines and multi-line cells in line numbers', () => {
    const row = formatScoreRows([{ ...refused, reason: 'two\nlines' }]);
    const bad = formatScoreRows([{ ...scored, path: 'z.dcm' }]).replace('0.12345679104328156', 'NaN');
    const text = `${scoresHeader()}\n${row}\n${bad}`;
    const err = errorOf(() => readScores(text));
    expect(err.line).toBe(6);
  });

  it('refuses a label that is not 0, 1 or empty, naming the column and line', () => {
    for (const value of ['2', 'yes', '0.5', '-1']) {
      const err = errorOf(() => readScores(withCell('label_LAD', value)));
      expect(err.column).toBe('label_LAD');
      expect(err.line).toBe(2);
      expect(err.message).not.toContain(value === '2' ? '"2"' : value);
    }
    expect(readScores(withCell('label_LAD', ' '))[0]?.labels.LAD).toBeUndefined();
  });

  it('refuses status and probabilities that contradict each other', () => {
    expect(errorOf(() => readScores(withCell('status', 'failed'))).column).toBe('RCA');
    const empty = scoresHeader() + formatScoreRows([{ ...refused, status: 'scored' }]);
    expect(errorOf(() => readScores(empty)).column).toBe('status');
    expect(errorOf(() => readScores(withCell('status', 'done'))).column).toBe('status');
  });

  it('refuses a repeated column, an empty file and ragged rows', () => {
    expect(errorOf(() => parseCsv('path,age,path\na,1,b\n')).column).toBe('path');
    expect(errorOf(() => parseCsv('')).message).toMatch(/header/);
    const ragged = errorOf(() => parseCsv('a,b\n1,2\nsecret-cell\n'));
    expect(ragged.line).toBe(3);
    expect(ragged.message).not.toContain('secret');
    expect(errorOf(() => parseCsv('a,b\n1,x"secret"\n')).message).not.toContain('secret');
  });

  it('checks clinical cells, naming the column and never the value', () => {
    const { values, problems } = parseClinicalColumns({
      label_RCA: '1',
      age: '212',
      sex: 'F',
      symptoms: 'Typical',
      risk_factors: '2.5',
      cacs: '',
      mace_days: '30',
    });
    expect(values).toEqual({ labels: { RCA: 1 }, sex: 'female', symptoms: 'typical' });
    expect(problems.map((p) => p.column)).toEqual(['age', 'risk_factors', 'mace_event']);
    expect(problems.map((p) => p.problem).join(' ')).not.toMatch(/212|2\.5/);
  });

  it('labelled() keeps rows with both a probability and a label', () => {
    const rows = readScores(scoresHeader() + formatScoreRows([scored, refused, { ...scored, labels: {} }]));
    const rca = labelled(rows, 'RCA');
    expect([...rca.p]).toEqual([0.12345679104328156]);
    expect([...rca.y]).toEqual([1]);
    expect(labelled(rows, 'LCx').rows).toHaveLength(0);
  });
});
