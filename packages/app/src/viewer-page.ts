/**
 * The page of one ECG: its result (the RiskAssessment's probabilities and strata, the quality verdict, the PTP)
 * and the 12-lead viewer (`viewerInputFromFhir` then `renderEcgViewer`, src/viewer).
 * Bad input gets a sentence, never a blank page: no waveform, missing vessels, a not-analysable ECG, a viewer
 * that refuses its input.
 */
import type { Device, Observation, Reference } from '@medplum/fhirtypes';
import { el, formatProbability, formatTime } from './dom.js';
import { VESSELS } from './fhir-codes.js';
import { renderEcgViewer, type ViewerHandle, viewerInputFromFhir } from './viewer/index.js';
import type { RowResources, WorklistRow } from './worklist-model.js';

/** Reads one resource by its reference (`Observation/<id>`), relative to the FHIR base. */
export type FhirRead = <T>(reference: string) => Promise<T>;

const STRATUM = { low: 'Low', intermediate: 'Intermediate', high: 'High' } as const;

/** True when the ECG Observation carries at least one lead of samples (contract C1). */
export function hasWaveform(ecg: Observation): boolean {
  return !!ecg.component?.some((c) => typeof c.valueSampledData?.data === 'string' && c.valueSampledData.data !== '');
}

function resultTable(row: WorklistRow): HTMLElement {
  if (row.notAnalysable) {
    return el(
      'div',
      { class: 'result na', role: 'note' },
      el('h2', {}, 'Not analysable'),
      el('p', {}, 'The quality check refused this ECG, so it has no risk score:'),
      el('ul', {}, ...row.notAnalysable.reasons.map((r) => el('li', {}, r))),
    );
  }
  const missing = row.vessels.filter((v) => v.stratum === undefined && v.probability === undefined);
  return el(
    'div',
    { class: 'result' },
    el('h2', {}, 'Coronary risk by vessel'),
    el(
      'table',
      { class: 'result-table' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { scope: 'col' }, 'Vessel'),
          el('th', { scope: 'col' }, 'Stratum'),
          el('th', { scope: 'col' }, 'Probability'),
          el('th', { scope: 'col' }, 'With pre-test probability'),
        ),
      ),
      el(
        'tbody',
        {},
        ...row.vessels.map((v) =>
          el(
            'tr',
            { class: `stratum-${v.stratum ?? 'none'}`, 'data-vessel': v.vessel },
            el('th', { scope: 'row' }, v.vessel),
            el('td', { class: 'stratum' }, v.stratum ? STRATUM[v.stratum] : 'No result'),
            el('td', { class: 'prob' }, formatProbability(v.probability)),
            el('td', {}, v.combined ?? v.combinedMissing ?? '—'),
          ),
        ),
      ),
    ),
    missing.length === VESSELS.length
      ? el('p', { class: 'warning' }, 'No vessel result has been written for this ECG yet.')
      : missing.length > 0
        ? el('p', { class: 'warning' }, `No result for ${missing.map((v) => v.vessel).join(', ')}.`)
        : '',
    row.ptp
      ? el(
          'p',
          { class: 'ptp' },
          row.ptp.status === 'computed'
            ? `Pre-test probability: ${formatProbability(row.ptp.probability)}${row.ptp.category ? ` (${row.ptp.category})` : ''}.`
            : `Pre-test probability not computed. ${row.ptp.notes.join(' ')}`,
        )
      : '',
  );
}

/** The Device (model) the result names, if it can be read. */
async function readDevice(read: FhirRead, resources: RowResources): Promise<Device | undefined> {
  const ref: Reference | undefined =
    resources.riskAssessment?.performer ?? resources.vessels[0]?.device ?? resources.notAnalysable?.device;
  if (!ref?.reference?.startsWith('Device/')) return undefined;
  try {
    return await read<Device>(ref.reference);
  } catch {
    return undefined;
  }
}

/**
 * Renders the ECG page into `container`. The full ECG Observation (with its samples) is read here: the worklist
 * holds it already when the server sent it whole. Throws only what the owner must handle (401, network).
 */
export async function renderViewerPage(
  container: HTMLElement,
  row: WorklistRow,
  read: FhirRead,
  onBack: () => void,
): Promise<{ destroy(): void }> {
  const back = el('button', { type: 'button', class: 'back' }, '← Back to the worklist');
  back.addEventListener('click', onBack);
  const ecg = hasWaveform(row.resources.ecg) ? row.resources.ecg : await read<Observation>(`Observation/${row.ecgId}`);
  const device = await readDevice(read, row.resources);
  const tracing = el('div', { class: 'tracing', id: 'ecg-viewer' });
  container.replaceChildren(
    el(
      'section',
      { class: 'ecg-page', 'aria-labelledby': 'ecg-title' },
      back,
      el('h1', { id: 'ecg-title', tabindex: '-1' }, `ECG of ${formatTime(row.acquiredAt)}`),
      row.cart ? el('p', { class: 'cart' }, `Recorded on ${row.cart}`) : '',
      resultTable(row),
      tracing,
    ),
  );
  (container.querySelector('#ecg-title') as HTMLElement | null)?.focus();

  let handle: ViewerHandle | undefined;
  if (!hasWaveform(ecg)) {
    tracing.append(
      el('p', { class: 'warning', role: 'note' }, 'This ECG has no waveform in the EHR: the tracing cannot be shown.'),
    );
  } else {
    try {
      const input = viewerInputFromFhir({
        ecg,
        vessels: row.resources.vessels,
        attribution: row.resources.attribution,
        ...(row.resources.riskAssessment ? { riskAssessment: row.resources.riskAssessment } : {}),
        ...(device ? { device } : {}),
        ...(row.resources.ptp ? { ptp: row.resources.ptp } : {}),
        ...(row.resources.notAnalysable ? { notAnalysable: row.resources.notAnalysable } : {}),
      });
      handle = renderEcgViewer(tracing, input);
    } catch {
      tracing.replaceChildren(
        el(
          'p',
          { class: 'warning', role: 'note' },
          'The tracing of this ECG cannot be drawn (its waveform is incomplete).',
        ),
      );
    }
  }
  return { destroy: () => handle?.destroy() };
}
