/**
 * The worklist on screen: filters, one table row per ECG (open it with a click, or Tab to its button and Enter),
 * and "Load more" for the next page. Strata are words, not only colours; colours meet WCAG AA contrast (static/page.css).
 */
import { el, formatProbability, formatTime } from './dom.js';
import { VESSELS, type Vessel } from './fhir-codes.js';
import type { WorklistFilter } from './worklist-data.js';
import type { VesselCell, WorklistRow } from './worklist-model.js';

/** What the view tells its owner. */
export interface WorklistHandlers {
  onFilter(filter: WorklistFilter): void;
  onOpen(row: WorklistRow): void;
  onMore(): void;
}

const STRATUM_LABEL = { low: 'Low', intermediate: 'Intermediate', high: 'High' } as const;

/** One vessel cell: stratum word and probability, the combined category under it when written. */
function vesselCell(cell: VesselCell): HTMLTableCellElement {
  const stratum = cell.stratum ? STRATUM_LABEL[cell.stratum] : 'No result';
  return el(
    'td',
    { class: `vessel stratum-${cell.stratum ?? 'none'}`, 'data-vessel': cell.vessel },
    el('span', { class: 'stratum' }, stratum),
    cell.probability !== undefined ? el('span', { class: 'prob' }, ` ${formatProbability(cell.probability)}`) : '',
    cell.combined ? el('span', { class: 'combined' }, `Combined: ${cell.combined}`) : '',
  );
}

/** The worklist view; rows are appended page by page. */
export class WorklistView {
  private readonly body: HTMLTableSectionElement;
  private readonly status: HTMLParagraphElement;
  private readonly more: HTMLButtonElement;
  private readonly form: HTMLFormElement;
  readonly root: HTMLElement;

  constructor(
    private readonly handlers: WorklistHandlers,
    private readonly options: { patientContext: boolean; patientLabel: (ref: string | undefined) => string },
  ) {
    const show = el(
      'select',
      { id: 'filter-show', name: 'show' },
      el('option', { value: 'all' }, 'All ECGs (high risk first)'),
      el('option', { value: 'high' }, 'Any vessel high'),
      ...VESSELS.map((v) => el('option', { value: `high-${v}` }, `${v} high`)),
      el('option', { value: 'not-analysable' }, 'Not analysable'),
    );
    this.form = el(
      'form',
      { class: 'filters', 'aria-label': 'Worklist filters' },
      el('label', { for: 'filter-show' }, 'Show '),
      show,
      el('label', { for: 'filter-from' }, ' From '),
      el('input', { id: 'filter-from', name: 'from', type: 'date' }),
      el('label', { for: 'filter-to' }, ' To '),
      el('input', { id: 'filter-to', name: 'to', type: 'date' }),
      el('button', { type: 'submit' }, 'Apply'),
    );
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.handlers.onFilter(this.filter());
    });
    show.addEventListener('change', () => this.handlers.onFilter(this.filter()));

    const head = el(
      'tr',
      {},
      el('th', { scope: 'col' }, 'ECG'),
      options.patientContext ? undefined : el('th', { scope: 'col' }, 'Patient'),
      ...VESSELS.map((v) => el('th', { scope: 'col' }, v)),
      el('th', { scope: 'col' }, 'Quality'),
      el('th', { scope: 'col' }, 'Pre-test probability'),
    );
    this.body = el('tbody', {});
    this.status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
    this.more = el('button', { type: 'button', class: 'more', hidden: '' }, 'Load more');
    this.more.addEventListener('click', () => this.handlers.onMore());
    this.root = el(
      'section',
      { class: 'worklist', 'aria-labelledby': 'worklist-title' },
      el('h1', { id: 'worklist-title' }, options.patientContext ? "This patient's ECG results" : 'ECG results'),
      this.form,
      el(
        'table',
        { class: 'worklist-table' },
        el('caption', { class: 'visually-hidden' }, 'ECGs with coronary risk results; open one to view the tracing'),
        el('thead', {}, head),
        this.body,
      ),
      this.status,
      this.more,
    );
  }

  /** The filter the form shows (the patient is added by the owner). */
  filter(): WorklistFilter {
    const data = new FormData(this.form);
    const show = String(data.get('show') ?? 'all');
    const from = String(data.get('from') ?? '');
    const to = String(data.get('to') ?? '');
    const base: WorklistFilter = show.startsWith('high-')
      ? { show: 'high', vessel: show.slice('high-'.length) as Vessel }
      : { show: show === 'high' || show === 'not-analysable' ? show : 'all' };
    return { ...base, ...(from ? { from } : {}), ...(to ? { to } : {}) };
  }

  /** Empties the table (a new filter). */
  clear(): void {
    this.body.replaceChildren();
    this.more.hidden = true;
  }

  /** Shows "loading" in the status line. */
  busy(): void {
    this.status.textContent = 'Loading…';
    this.more.disabled = true;
  }

  /** The page could not be read (the owner shows why): keep the rows, offer "Load more" again. */
  failed(): void {
    this.status.textContent = 'The list could not be loaded.';
    this.more.textContent = 'Try again';
    this.more.hidden = false;
    this.more.disabled = false;
  }

  /** Appends a page of rows. */
  append(rows: WorklistRow[], done: boolean): void {
    for (const row of rows) this.body.append(this.row(row));
    const count = this.body.rows.length;
    this.status.textContent =
      count === 0
        ? 'No ECG results match.'
        : `${count} ECG${count === 1 ? '' : 's'} shown${done ? '' : '; more below'}.`;
    this.more.textContent = 'Load more';
    this.more.hidden = done;
    this.more.disabled = false;
  }

  private row(row: WorklistRow): HTMLTableRowElement {
    const open = el(
      'button',
      { type: 'button', class: 'open', 'aria-label': `Open ECG of ${formatTime(row.acquiredAt)}` },
      formatTime(row.acquiredAt),
    );
    open.addEventListener('click', (e) => {
      e.stopPropagation();
      this.handlers.onOpen(row);
    });
    const quality = row.notAnalysable
      ? el('td', { class: 'quality na' }, el('strong', {}, 'Not analysable: '), row.notAnalysable.reasons.join('; '))
      : el('td', { class: 'quality' }, row.pending ? 'Result pending' : 'Analysable');
    const ptp = row.ptp
      ? row.ptp.status === 'computed'
        ? el('td', { class: 'ptp' }, `${formatProbability(row.ptp.probability)} ${row.ptp.category ?? ''}`.trim())
        : el('td', { class: 'ptp' }, 'Not computed', el('span', { class: 'note' }, row.ptp.notes[0] ?? ''))
      : el('td', { class: 'ptp' }, '—');
    const tr = el(
      'tr',
      { class: row.anyHigh ? 'high' : undefined, 'data-ecg': row.ecgId },
      el('td', {}, open, row.anyHigh ? el('span', { class: 'badge' }, 'High risk') : ''),
      this.options.patientContext ? undefined : el('td', {}, this.options.patientLabel(row.patientRef)),
      ...(row.notAnalysable
        ? [el('td', { colspan: String(VESSELS.length), class: 'vessel stratum-none' }, 'No score')]
        : row.vessels.map(vesselCell)),
      quality,
      ptp,
    );
    tr.addEventListener('click', () => this.handlers.onOpen(row));
    return tr;
  }
}
