/**
 * The ECG a CDS card's SMART link asks to open: the token response's `appContext`, `{"ecg":"<ECG Observation
 * id>"}` (contract C4), as a JSON string (what SMART and CDS Hooks pass) or already parsed. Anything else, or an
 * id that is not a FHIR id, is ignored: the app then shows the worklist.
 */
export function ecgFromAppContext(appContext: unknown): string | undefined {
  let value = appContext;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const ecg = (value as { ecg?: unknown } | null)?.ecg;
  return typeof ecg === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(ecg) ? ecg : undefined;
}
