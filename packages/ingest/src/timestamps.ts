/**
 * DICOM DA/TM/DT and HL7 v3 TS values to ISO 8601. Both use `YYYYMMDDHHMMSS.FFFFFF` with an optional `+ZZZZ`
 * offset; precision may stop after any component. Invalid input gives undefined, never an exception.
 */

const TS = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$/;

/**
 * `20021122091000.000` -> `2002-11-22T09:10:00.000`; `19991223` -> `1999-12-23`; `20250923103550+0200` ->
 * `2025-09-23T10:35:50+02:00`. Without an offset in the source the result carries none (local time of the device).
 */
export function isoFromTimestamp(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = TS.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (mo === undefined) return y;
  if (Number(mo) < 1 || Number(mo) > 12) return undefined;
  if (d === undefined) return `${y}-${mo}`;
  if (Number(d) < 1 || Number(d) > 31) return undefined;
  const date = `${y}-${mo}-${d}`;
  if (h === undefined) return date;
  if (Number(h) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 60) return undefined;
  const time = `${h}:${mi ?? '00'}:${s ?? '00'}${frac ? `.${frac}` : ''}`;
  const tz = zone ? `${zone.slice(0, 3)}:${zone.slice(3)}` : '';
  return `${date}T${time}${tz}`;
}

/** DICOM DA + TM (TM may be `HHMMSS.FFFFFF` or the old `HH:MM:SS` form) to ISO 8601. */
export function isoFromDateAndTime(date: string | undefined, time: string | undefined): string | undefined {
  if (!date) return undefined;
  const t = (time ?? '').trim().replace(/:/g, '');
  return isoFromTimestamp(`${date.trim()}${t}`);
}

/** DICOM DA (`YYYYMMDD`) or HL7 TS date to an ISO date `YYYY-MM-DD`; undefined unless it is a full date. */
export function isoDate(value: string | undefined): string | undefined {
  const iso = isoFromTimestamp(value?.trim().slice(0, 8));
  return iso && iso.length === 10 ? iso : undefined;
}
