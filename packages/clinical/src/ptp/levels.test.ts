import { describe, expect, it } from 'vitest';
import { ptpLevel } from './levels.js';

describe('ptpLevel', () => {
  it('maps ESC 2019 categories one to one', () => {
    expect(['low', 'intermediate', 'high'].map((c) => ptpLevel('esc2019', c))).toEqual(['low', 'intermediate', 'high']);
  });

  it('maps ESC 2024 and CACS-CL very low / low / moderate to low / intermediate / high', () => {
    for (const model of ['esc2024', 'cacs-cl'] as const) {
      expect(['very low', 'low', 'moderate'].map((c) => ptpLevel(model, c))).toEqual(['low', 'intermediate', 'high']);
    }
  });

  it('refuses a category the model does not have', () => {
    expect(() => ptpLevel('esc2019', 'very low')).toThrow(/esc2019 has no category "very low"/);
    expect(() => ptpLevel('esc2024', 'intermediate')).toThrow(RangeError);
    expect(() => ptpLevel('cacs-cl', 'toString')).toThrow(RangeError);
  });
});
