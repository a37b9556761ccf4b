/**
 * The app's entry point (index.html, the SMART redirect URI): completes the sign-in (fhirclient's ready(): code
 * exchange with the PKCE verifier it kept in sessionStorage), then shows the worklist, in a patient context only
 * that patient's ECGs. A CDS card's link carries `appContext` {"ecg": "<ECG Observation id>"}: that ECG opens
 * directly. Nothing about patients goes into the URL or localStorage: the open ECG lives in memory and in the
 * history entry's state.
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import FHIR from 'fhirclient';
import { ecgFromAppContext } from './app-context.js';
import { el } from './dom.js';
import { type Problem, problemOf } from './messages.js';
import { type FhirRead, renderViewerPage } from './viewer-page.js';
import {
  type FhirSearch,
  loadWorklistPage,
  rowsFor,
  startCursor,
  type WorklistCursor,
  type WorklistFilter,
} from './worklist-data.js';
import type { WorklistRow } from './worklist-model.js';
import { WorklistView } from './worklist-view.js';

const app = document.getElementById('app') as HTMLElement;

function showProblem(problem: Problem, where: HTMLElement = app): void {
  const box = el(
    'div',
    { role: 'alert', class: `problem problem-${problem.kind}` },
    el('h2', {}, problem.title),
    el('p', {}, problem.detail),
    problem.signIn ? el('p', {}, el('a', { href: 'launch.html', class: 'sign-in' }, 'Sign in again')) : '',
  );
  where.replaceChildren(box);
}

function patientName(p: Patient): string {
  const n = p.name?.[0];
  return (
    n?.text ?? ([n?.given?.join(' '), n?.family].filter(Boolean).join(' ') || p.identifier?.[0]?.value || 'Patient')
  );
}

async function start(): Promise<void> {
  app.replaceChildren(el('p', { class: 'status', role: 'status' }, 'Signing in…'));
  const client = await FHIR.oauth2.ready();
  const search: FhirSearch = (url) => client.request<Bundle>(url);
  const read: FhirRead = <T>(reference: string) => client.request<T>(reference);
  const patient = client.patient.id ? String(client.patient.id) : undefined;

  const banner = el('header', { class: 'banner' }, el('span', { class: 'brand' }, 'ecgcad'));
  const worklistArea = el('div', { class: 'worklist-area' });
  const viewerArea = el('div', { class: 'viewer-area', hidden: '' });
  const notice = el('div', { class: 'notice' });
  app.replaceChildren(banner, notice, worklistArea, viewerArea);
  if (patient) {
    try {
      banner.append(
        el('span', { class: 'patient' }, `Patient: ${patientName(await read<Patient>(`Patient/${patient}`))}`),
      );
    } catch {
      // The banner is a courtesy: the worklist is already limited to this patient.
    }
  }

  const labels = new Map<string, string>();
  let filter: WorklistFilter = { show: 'all', ...(patient ? { patient } : {}) };
  let cursor: WorklistCursor = startCursor(filter);
  let generation = 0;
  let viewerHandle: { destroy(): void } | undefined;
  /** The row button that opened the ECG: focus goes back to it (keyboard users keep their place). */
  let opener: HTMLElement | undefined;

  const closeViewer = (): void => {
    viewerHandle?.destroy();
    viewerHandle = undefined;
    viewerArea.hidden = true;
    viewerArea.replaceChildren();
    worklistArea.hidden = false;
    opener?.focus();
  };
  const openRow = async (row: WorklistRow, push = true): Promise<void> => {
    opener =
      worklistArea.querySelector<HTMLElement>(`tr[data-ecg="${CSS.escape(row.ecgId)}"] button.open`) ?? undefined;
    notice.replaceChildren();
    worklistArea.hidden = true;
    viewerArea.hidden = false;
    viewerArea.replaceChildren(el('p', { class: 'status', role: 'status' }, 'Opening the ECG…'));
    if (push) history.pushState({ view: 'ecg' }, '', window.location.pathname);
    try {
      viewerHandle = await renderViewerPage(viewerArea, row, read, () => history.back());
    } catch (error) {
      showProblem(problemOf(error), viewerArea);
      const back = el('button', { type: 'button', class: 'back' }, '← Back to the worklist');
      back.addEventListener('click', () => history.back());
      viewerArea.append(back);
    }
  };
  window.addEventListener('popstate', () => closeViewer());

  const loadMore = async (): Promise<void> => {
    const mine = generation;
    view.busy();
    try {
      const page = await loadWorklistPage(search, cursor);
      if (mine !== generation) return;
      if (!patient) await readLabels(page.rows);
      cursor = page.cursor;
      view.append(page.rows, cursor.done);
    } catch (error) {
      if (mine === generation) {
        showProblem(problemOf(error), notice);
        view.failed();
      }
    }
  };
  const readLabels = async (rows: WorklistRow[]): Promise<void> => {
    const ids = [...new Set(rows.map((r) => r.patientRef?.replace(/^Patient\//, '') ?? ''))].filter(
      (id) => id && !labels.has(id),
    );
    if (ids.length === 0) return;
    try {
      const found = await search(`Patient?_id=${encodeURIComponent(ids.join(','))}&_count=${ids.length}`);
      for (const e of found.entry ?? []) {
        const p = e.resource as Patient | undefined;
        if (p?.id) labels.set(p.id, patientName(p));
      }
    } catch {
      // Rows still show; the patient column says "unknown".
    }
  };

  const view = new WorklistView(
    {
      onFilter: (f) => {
        filter = { ...f, ...(patient ? { patient } : {}) };
        cursor = startCursor(filter);
        generation++;
        notice.replaceChildren();
        view.clear();
        void loadMore();
      },
      onOpen: (row) => void openRow(row),
      onMore: () => void loadMore(),
    },
    {
      patientContext: !!patient,
      patientLabel: (ref) => labels.get(ref?.replace(/^Patient\//, '') ?? '') ?? 'unknown',
    },
  );
  worklistArea.append(view.root);

  const tokenResponse = client.state.tokenResponse as Record<string, unknown> | undefined;
  const ecgId = ecgFromAppContext(tokenResponse?.appContext);
  if (ecgId) {
    try {
      const [row] = await rowsFor(search, [ecgId]);
      if (row && (!patient || row.patientRef === `Patient/${patient}`)) {
        await openRow(row, false);
        // Back from a directly opened ECG goes to the worklist.
        history.replaceState({ view: 'worklist' }, '', window.location.pathname);
        history.pushState({ view: 'ecg' }, '', window.location.pathname);
      } else {
        notice.replaceChildren(
          el(
            'p',
            { role: 'alert', class: 'problem' },
            'The ECG the EHR asked to open was not found; here is the worklist.',
          ),
        );
      }
    } catch (error) {
      showProblem(problemOf(error), notice);
    }
  }
  await loadMore();
}

start().catch((error: unknown) => showProblem(problemOf(error)));
