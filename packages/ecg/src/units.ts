/** Voltage units as sources spell them, and their factor to microvolts. */
const TO_MICROVOLTS: Record<string, number> = {
  UV: 1,
  MICROVOLT: 1,
  MICROVOLTS: 1,
  MV: 1000,
  MILLIVOLT: 1000,
  MILLIVOLTS: 1000,
  V: 1e6,
  VOLT: 1e6,
  VOLTS: 1e6,
  NV: 1e-3,
};

/**
 * Factor that converts a value in `unit` to microvolts, or undefined for a unit that is not a voltage.
 * Accepts UCUM (`uV`, `mV`, `V`, `nV`), the micro sign, and vendor words (`MICROVOLTS`).
 */
export function microvoltsPer(unit: string): number | undefined {
  // The micro sign (U+00B5) and the Greek mu (U+03BC) upper-case to a Greek capital, not to U: map them first.
  const u = unit.trim().replace(/^[µμ]/, 'u');
  return TO_MICROVOLTS[u.toUpperCase()];
}

/** Time units to seconds (UCUM `s`, `ms`, `us`; `sec`, the micro sign and the Greek mu too), or undefined. */
export function secondsPer(unit: string): number | undefined {
  switch (unit.trim()) {
    case 's':
    case 'S':
    case 'sec':
      return 1;
    case 'ms':
      return 1e-3;
    case 'us':
    case 'µs':
    case 'μs':
      return 1e-6;
    default:
      return undefined;
  }
}
