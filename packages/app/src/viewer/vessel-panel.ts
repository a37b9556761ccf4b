/**
 * The panel beside the paper: the model's clinical-use banner, the four vessels (probability, stratum, thresholds on
 * a scale, combined category, overlay switch), the pre-test probability, the model's intended use and the problems.
 */
import { h } from './dom.js';
import { OVERLAY_COLOURS } from './paper-svg.js';
import type { Stratum, Vessel, VesselResult, ViewerInput } from './types.js';

/** Probability as a reader expects it: whole percent, "< 1 %" below one. */
export function formatPercent(p: number): string {
  if (p > 0 && p < 0.01) return '< 1 %';
  return `${Math.round(p * 100)} %`;
}

const STRATUM_WORDS: Record<Stratum, string> = {
  low: 'Low risk',
  intermediate: 'Intermediate risk',
  high: 'High risk',
};

export interface VesselPanel {
  element: HTMLElement;
  /** The overlay buttons, by vessel (only vessels with a map have one). */
  buttons: Partial<Record<Vessel, HTMLButtonElement>>;
  legend: HTMLElement;
}

/** The clinical-use banner, or undefined when the model is for clinical use. */
export function clinicalUseBanner(doc: Document, input: ViewerInput): HTMLElement | undefined {
  if (input.model.clinicalUse === true) return undefined;
  const text =
    input.model.clinicalUse === false
      ? 'Demonstration model: not for clinical use. These results carry no clinical meaning.'
      : 'The model that produced these results is not known: treat them as not for clinical use.';
  return h(doc, 'div', { class: 'ecgv-banner ecgv-banner-demo', role: 'alert' }, text);
}

export function buildVesselPanel(doc: Document, input: ViewerInput): VesselPanel {
  const buttons: Partial<Record<Vessel, HTMLButtonElement>> = {};
  const panel = h(doc, 'aside', { class: 'ecgv-panel', 'aria-label': 'ECG-AI coronary result' });
  const banner = clinicalUseBanner(doc, input);
  if (banner) panel.append(banner);
  if (input.notAnalysable) {
    panel.append(
      h(
        doc,
        'div',
        { class: 'ecgv-banner ecgv-banner-na', role: 'status' },
        h(doc, 'strong', {}, 'ECG not analysable. '),
        `No risk was computed: ${input.notAnalysable.reasons.join('; ')}.`,
      ),
    );
  }

  const list = h(doc, 'div', { class: 'ecgv-vessels' });
  for (const v of input.vessels) {
    const hasMap = input.attribution[v.vessel] !== undefined;
    const section = vesselSection(doc, v);
    if (hasMap) {
      const button = h(
        doc,
        'button',
        { type: 'button', class: 'ecgv-overlay-toggle', 'data-vessel': v.vessel, 'aria-pressed': 'false' },
        `Show ${v.vessel} map`,
      );
      buttons[v.vessel] = button;
      section.append(button);
    }
    list.append(section);
  }
  panel.append(h(doc, 'h2', { class: 'ecgv-heading' }, 'Coronary stenosis risk (ECG-AI)'), list);

  const legend = h(
    doc,
    'div',
    { class: 'ecgv-legend', hidden: true, 'aria-live': 'polite' },
    h(doc, 'strong', { class: 'ecgv-legend-title' }),
    h(doc, 'span', { class: 'ecgv-swatch', style: `background:${OVERLAY_COLOURS.raised}` }),
    ' raised the risk ',
    h(doc, 'span', { class: 'ecgv-swatch', style: `background:${OVERLAY_COLOURS.lowered}` }),
    ' lowered it; darker = larger effect (occlusion sensitivity)',
  );
  if (Object.keys(buttons).length > 0) panel.append(legend);

  if (input.ptp) panel.append(ptpSection(doc, input));
  panel.append(modelSection(doc, input));
  if (input.problems.length > 0) {
    panel.append(
      h(
        doc,
        'section',
        { class: 'ecgv-problems' },
        h(doc, 'h3', {}, 'Data notes'),
        h(doc, 'ul', {}, ...input.problems.map((p) => h(doc, 'li', {}, p))),
      ),
    );
  }
  return { element: panel, buttons, legend };
}

function vesselSection(doc: Document, v: VesselResult): HTMLElement {
  const section = h(doc, 'section', {
    class: `ecgv-vessel${v.stratum ? ` ecgv-stratum-${v.stratum}` : ''}`,
    'data-vessel': v.vessel,
    'data-probability': v.probability,
    'data-stratum': v.stratum,
  });
  const title = h(doc, 'h3', { class: 'ecgv-vessel-name' }, v.vessel);
  if (v.probability === undefined) {
    section.append(title, h(doc, 'p', { class: 'ecgv-missing' }, 'No result'));
    return section;
  }
  section.append(
    h(
      doc,
      'div',
      { class: 'ecgv-vessel-head' },
      title,
      h(doc, 'span', { class: 'ecgv-probability' }, formatPercent(v.probability)),
      v.stratum
        ? h(doc, 'span', { class: `ecgv-stratum ecgv-chip-${v.stratum}` }, v.stratumText ?? STRATUM_WORDS[v.stratum])
        : h(doc, 'span', { class: 'ecgv-stratum' }, 'Stratum not recorded'),
    ),
    scale(doc, v),
  );
  if (v.combined) {
    section.append(
      h(
        doc,
        'p',
        { class: 'ecgv-combined', 'data-combined': v.combined.status === 'present' ? v.combined.code : 'absent' },
        v.combined.text,
      ),
    );
  }
  return section;
}

/** The probability on a 0-100 % bar with the rule-out and rule-in thresholds marking the strata. */
function scale(doc: Document, v: VesselResult): HTMLElement {
  const p = v.probability as number;
  const pct = (x: number): string => `${(Math.min(1, Math.max(0, x)) * 100).toFixed(2)}%`;
  const t = v.thresholds;
  const label = t
    ? `Probability ${formatPercent(p)}; rule-out below ${formatPercent(t.ruleOut)}, rule-in at ${formatPercent(t.ruleIn)} or above`
    : `Probability ${formatPercent(p)}; thresholds not recorded`;
  const bar = h(doc, 'div', { class: 'ecgv-scale-bar' });
  if (t) {
    bar.append(
      h(doc, 'span', { class: 'ecgv-zone ecgv-zone-low', style: `left:0;width:${pct(t.ruleOut)}` }),
      h(doc, 'span', {
        class: 'ecgv-zone ecgv-zone-intermediate',
        style: `left:${pct(t.ruleOut)};width:${pct(t.ruleIn - t.ruleOut)}`,
      }),
      h(doc, 'span', { class: 'ecgv-zone ecgv-zone-high', style: `left:${pct(t.ruleIn)};right:0` }),
    );
  }
  bar.append(h(doc, 'span', { class: 'ecgv-marker', style: `left:${pct(p)}` }));
  return h(
    doc,
    'div',
    { class: 'ecgv-scale', role: 'img', 'aria-label': label },
    bar,
    h(
      doc,
      'div',
      { class: 'ecgv-scale-text' },
      t
        ? `rule-out < ${formatPercent(t.ruleOut)} \u2264 intermediate < ${formatPercent(t.ruleIn)} \u2264 rule-in`
        : 'thresholds not recorded',
    ),
  );
}

function ptpSection(doc: Document, input: ViewerInput): HTMLElement {
  const ptp = input.ptp!;
  const body =
    ptp.status === 'computed'
      ? [
          h(
            doc,
            'p',
            {},
            h(doc, 'strong', {}, ptp.probability !== undefined ? formatPercent(ptp.probability) : 'value not recorded'),
            ptp.categoryText ? ` \u2014 ${ptp.categoryText}` : '',
          ),
          ptp.rationale ? h(doc, 'p', { class: 'ecgv-small' }, ptp.rationale) : undefined,
        ]
      : [h(doc, 'p', {}, 'Not computed.'), ...ptp.notes.map((n) => h(doc, 'p', { class: 'ecgv-small' }, n))];
  return h(
    doc,
    'section',
    { class: 'ecgv-ptp', 'data-status': ptp.status },
    h(doc, 'h3', {}, `Pre-test probability${ptp.method ? ` (${ptp.method})` : ''}`),
    ...body,
  );
}

function modelSection(doc: Document, input: ViewerInput): HTMLElement {
  const m = input.model;
  const name = [m.name, m.version].filter(Boolean).join(' ') || 'not recorded';
  return h(
    doc,
    'section',
    { class: 'ecgv-model', 'data-clinical-use': m.clinicalUse === undefined ? 'unknown' : String(m.clinicalUse) },
    h(doc, 'h3', {}, 'Model'),
    h(doc, 'p', {}, h(doc, 'strong', {}, name), m.clinicalUse === false ? ' \u2014 demonstration only' : ''),
    h(doc, 'p', { class: 'ecgv-intended-use' }, `Intended use: ${m.intendedUse ?? 'not recorded'}`),
    m.outcome ? h(doc, 'p', { class: 'ecgv-small ecgv-outcome' }, `Outcome: ${m.outcome}`) : undefined,
  );
}
