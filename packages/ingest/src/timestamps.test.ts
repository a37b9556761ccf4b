import { describe, expect, it } from 'vitest';
import { isoDate, isoFromDateAndTime, isoFromTimestamp } from './timestamps.js';

describe('timestamps', () => {
  it('converts DICOM DT / HL7 TS at every precision, with and without an offset', () => {
    expect(isoFromTimestamp('20021122091000.000')).toBe('2002-11-22T09:10:00.000');
    expect(isoFromTimestamp('20250923103550+0200')).toBe('2025-09-23T10:35:50+02:00');
    expect(isoFromTimestamp('200211221010')).toBe('2002-11-22T10:10:00');
    expect(isoFromTimestamp('19991223')).toBe('1999-12-23');
    expect(isoFromTimestamp('199912')).toBe('1999-12');
    expect(isoFromTimestamp(' 2002 ')).toBe('2002');
  });

  it('gives undefined for values that are not timestamps', () => {
    for (const bad of ['', 'abc', '20021322', '20020100', '2002112225', '20021122091000.1234567', '2002-11-22']) {
      expect(isoFromTimestamp(bad)).toBeUndefined();
    }
    expect(isoFromTimestamp(undefined)).toBeUndefined();
  });

  it('joins DICOM DA and TM, including the old HH:MM:SS form', () => {
    expect(isoFromDateAndTime('19991223', '100709')).toBe('1999-12-23T10:07:09');
    expect(isoFromDateAndTime('19991223', '10:07:09')).toBe('1999-12-23T10:07:09');
    expect(isoFromDateAndTime('19991223', undefined)).toBe('1999-12-23');
    expect(isoFromDateAndTime(undefined, '100709')).toBeUndefined();
  });

  it('takes only full dates as birth dates', () => {
    expect(isoDate('19600229')).toBe('1960-02-29');
    expect(isoDate('19600229120000')).toBe('1960-02-29');
    expect(isoDate('1960')).toBeUndefined();
    expect(isoDate('')).toBeUndefined();
  });
});
