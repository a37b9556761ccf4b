import { describe, expect, it } from 'vitest';
import { microvoltsPer, secondsPer } from './units.js';

describe('microvoltsPer', () => {
  it('converts the voltage units sources use to microvolts', () => {
    const cases: [string, number][] = [
      ['uV', 1],
      ['µV', 1], // micro sign U+00B5
      ['μV', 1], // Greek mu U+03BC
      ['µv', 1],
      ['UV', 1],
      ['MICROVOLTS', 1],
      ['microvolt', 1],
      ['mV', 1000],
      ['mv', 1000],
      ['MILLIVOLTS', 1000],
      ['millivolt', 1000],
      ['V', 1e6],
      ['volts', 1e6],
      ['nV', 1e-3],
      [' uV ', 1],
    ];
    for (const [unit, factor] of cases) expect(microvoltsPer(unit), unit).toBe(factor);
  });

  it('returns undefined for units that are not voltages', () => {
    for (const unit of ['', 'Hz', 'ms', 'mmHg', 'uA', 'µ', 'kV?']) expect(microvoltsPer(unit), unit).toBeUndefined();
  });
});

describe('secondsPer', () => {
  it('converts time units to seconds', () => {
    const cases: [string, number][] = [
      ['s', 1],
      ['S', 1],
      ['sec', 1],
      ['ms', 1e-3],
      ['us', 1e-6],
      ['µs', 1e-6],
      ['μs', 1e-6],
      [' s ', 1],
    ];
    for (const [unit, factor] of cases) expect(secondsPer(unit), unit).toBe(factor);
  });

  it('returns undefined for anything else', () => {
    for (const unit of ['', 'Hz', 'uV', 'h', 'seconds?']) expect(secondsPer(unit), unit).toBeUndefined();
  });
});
