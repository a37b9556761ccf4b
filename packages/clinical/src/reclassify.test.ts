import { describe, expect, it } from 'vitest';
import { PTP_LEVELS, PTP_MODELS } from './ptp/levels.js';
import { pretestProbability } from './ptp/pretest-probability.js';
import {
  combinedCategory,
  DEFAULT_RECLASSIFICATION,
  defaultReclassification,
  parseReclassificationMatrix,
  ptpLevelOf,
  ReclassificationMatrixError,
  reclassificationWarnings,
} from './reclassify.js';

const rank = { low: 0, intermediate: 1, high: 2 } as const;

function parseError(json: unknown): ReclassificationMatrixError {
  try {
    parseReclassificationMatrix(json);
  } catch (err) {
    if (err instanceof ReclassificationMatrixError) return err;
    throw err;
  }
  throw new Error('parsed');
}

describe('DEFAULT_RECLASSIFICATION', () => {
  it('uses ESC 2024 and has every cell', () => {
    expect(DEFAULT_RECLASSIFICATION.ptpModel).toBe('esc2024');
    expect(parseReclassificationMatrix(JSON.stringify(DEFAULT_RECLASSIFICATION))).toEqual(DEFAULT_RECLASSIFICATION);
  });

  it('moves an intermediate PTP to rule-out with AI low and to testing with AI high', () => {
    expect(DEFAULT_RECLASSIFICATION.cells.intermediate).toEqual({
      low: 'low',
      intermediate: 'intermediate',
      high: 'high',
    });
  });

  it('never moves a patient by more than one level, never moves one with AI intermediate, never lowers a high PTP', () => {
    for (const ptp of PTP_LEVELS) {
      for (const ai of PTP_LEVELS) {
        const combined = DEFAULT_RECLASSIFICATION.cells[ptp][ai];
        expect(Math.abs(rank[combined] - rank[ptp]), `${ptp} x ${ai}`).toBeLessThanOrEqual(1);
        if (ai === 'intermediate') expect(combined).toBe(ptp);
        if (ptp === 'high') expect(combined).toBe('high');
        // The AI moves in its own direction only.
        if (ai === 'low') expect(rank[combined]).toBeLessThanOrEqual(rank[ptp]);
        if (ai === 'high') expect(rank[combined]).toBeGreaterThanOrEqual(rank[ptp]);
      }
    }
    expect(DEFAULT_RECLASSIFICATION.cells.low.high).toBe('intermediate');
    expect(reclassificationWarnings(DEFAULT_RECLASSIFICATION)).toEqual([]);
  });

  it('has a copy per model that callers cannot change through one another', () => {
    const a = defaultReclassification('esc2019');
    a.cells.low.low = 'high';
    expect(defaultReclassification('esc2019').cells.low.low).toBe('low');
    expect(DEFAULT_RECLASSIFICATION.cells.low.low).toBe('low');
    for (const model of PTP_MODELS) expect(defaultReclassification(model).ptpModel).toBe(model);
  });
});

describe('parseReclassificationMatrix', () => {
  // Loosely typed, so a test can break it in ways the type would not allow.
  type Loose = {
    ptpModel: string;
    cells: { low: Record<string, string>; intermediate: Record<string, string>; high?: Record<string, string> };
    description?: string;
  };
  const good = () => structuredClone(DEFAULT_RECLASSIFICATION) as unknown as Loose;

  it('reads JSON text or a parsed value', () => {
    const m = good();
    m.ptpModel = 'cacs-cl';
    m.cells.low.high = 'low';
    delete m.description;
    expect(parseReclassificationMatrix(JSON.stringify(m))).toEqual(m);
    expect(parseReclassificationMatrix(m)).toEqual(m);
  });

  it('names a bad cell', () => {
    const m = good();
    m.cells.intermediate.high = 'refer';
    const err = parseError(m);
    expect(err.message).toBe(
      'reclassification matrix: cell PTP intermediate x AI high (cells.intermediate.high): must be one of low, intermediate, high',
    );
    expect(err.paths).toEqual(['cells.intermediate.high']);
  });

  it('names missing cells, rows and unknown keys', () => {
    const m = good();
    delete m.cells.low.intermediate;
    delete m.cells.high;
    m.cells.low.moderate = 'low';
    const err = parseError(m);
    expect(err.message).toContain('cell PTP low x AI intermediate (cells.low.intermediate): missing');
    expect(err.message).toContain('row PTP high (cells.high): missing');
    expect(err.message).toContain('unknown key moderate in row PTP low (cells.low)');
    expect(err.paths.sort()).toEqual(['cells.high', 'cells.low.intermediate', 'cells.low.moderate']);
  });

  it('refuses an unknown PTP model and text that is not JSON', () => {
    const m = good();
    m.ptpModel = 'esc2013';
    expect(parseError(m).message).toBe('reclassification matrix: ptpModel: must be one of esc2019, esc2024, cacs-cl');
    expect(parseError('{cells:').message).toBe('reclassification matrix: not valid JSON');
    expect(parseError(null).paths).toEqual(['']);
  });
});

describe('reclassificationWarnings', () => {
  it('names cells that move two levels or against the AI result', () => {
    const m = defaultReclassification('esc2024');
    m.cells.low.high = 'high';
    m.cells.high.low = 'intermediate';
    m.cells.intermediate.low = 'high';
    m.cells.high.high = 'intermediate';
    expect(reclassificationWarnings(m)).toEqual([
      'cell PTP low x AI high (low -> high) moves the patient by two levels',
      'cell PTP intermediate x AI low (intermediate -> high) raises the category on a low AI result',
      'cell PTP high x AI high (high -> intermediate) lowers the category on a high AI result',
    ]);
  });
});

describe('combinedCategory', () => {
  // 55-year-old man, atypical pain, 2 risk factors: ESC 2019 17 % high, RF-CL 10.5 % low (intermediate level).
  const result = pretestProbability({ age: 55, sex: 'male', symptoms: 'atypical', riskFactors: 2, cacs: 0 });

  it('looks up the PTP level of the matrix model and the AI stratum', () => {
    expect(ptpLevelOf(result, 'esc2024')).toBe('intermediate');
    expect(ptpLevelOf(result, 'esc2019')).toBe('high');
    expect(ptpLevelOf(result, 'cacs-cl')).toBe('low');
    expect(
      ['low', 'intermediate', 'high'].map((s) => combinedCategory(DEFAULT_RECLASSIFICATION, result, s as never)),
    ).toEqual(['low', 'intermediate', 'high']);
    const esc2019 = defaultReclassification('esc2019');
    expect(combinedCategory(esc2019, result, 'low')).toBe('high');
    const cacs = defaultReclassification('cacs-cl');
    expect(combinedCategory(cacs, result, 'high')).toBe('intermediate');
  });

  it('is null when the matrix model has no value for the patient', () => {
    const noCacs = pretestProbability({ age: 55, sex: 'male', symptoms: 'none', riskFactors: 2 });
    expect(combinedCategory(defaultReclassification('cacs-cl'), noCacs, 'low')).toBeNull();
    expect(combinedCategory(defaultReclassification('esc2019'), noCacs, 'low')).toBeNull();
    expect(combinedCategory(DEFAULT_RECLASSIFICATION, noCacs, 'low')).not.toBeNull();
  });
});
