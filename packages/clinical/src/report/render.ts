/**
 * The evaluation report: one self-contained HTML page (inline CSS and SVG, no scripts, no external files) from an
 * {@link Evaluation}. Every number shown sits in an element with `data-json` = its path in evaluation.json, so a
 * test (or a sceptical reader) can check the page against the JSON. Prints on A4 / Letter with one vessel a page.
 */
import type { EvaluatedOperatingPoint, Evaluation, VesselEvaluation } from '../evaluate/cohort.js';
import type { Proportion } from '../evaluate/proportion.js';
import { STRATA } from '../evaluate/strata.js';
import { escapeHtml, formatPValue } from './html.js';
import { lineChart, type Series } from './svg.js';

/** Okabe & Ito's colour-blind-safe palette. */
const COLOR = {
  blue: '#0072B2',
  vermillion: '#D55E00',
  green: '#009E73',
  purple: '#CC79A7',
  orange: '#E69F00',
  grey: '#595959',
};

/** A number shown in the page, tied to its JSON path. `scale` 100 shows a proportion as a percent. */
function val(path: string, value: number | null | undefined, digits = 3, scale = 1): string {
  const text = value === null || value === undefined || !Number.isFinite(value) ? '–' : (value * scale).toFixed(digits);
  return `<span class="num" data-json="${path}" data-scale="${scale}" data-digits="${digits}">${text}</span>`;
}

/** A p-value shown in the page, tied to its JSON path (data-digits="p": see formatPValue). */
function pval(path: string, value: number): string {
  return `<span class="num" data-json="${path}" data-scale="1" data-digits="p">${formatPValue(value)}</span>`;
}

/** A proportion as "91.2 % (88.0–93.6)" with k/n. */
function prop(path: string, p: Proportion | undefined, withCounts = true): string {
  if (!p || p.value === null) return '<span class="na">–</span>';
  const ci = p.ci95
    ? ` <span class="ci">(${val(`${path}.ci95.0`, p.ci95[0], 1, 100)}–${val(`${path}.ci95.1`, p.ci95[1], 1, 100)})</span>`
    : '';
  const counts = withCounts
    ? ` <span class="counts">${val(`${path}.k`, p.k, 0)}/${val(`${path}.n`, p.n, 0)}</span>`
    : '';
  return `${val(`${path}.value`, p.value, 1, 100)} %${ci}${counts}`;
}

function interval(path: string, ci: [number, number] | null | undefined, digits = 3, scale = 1): string {
  if (!ci) return '–';
  return `${val(`${path}.0`, ci[0], digits, scale)}–${val(`${path}.1`, ci[1], digits, scale)}`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #4d4d4d; --rule: #c8c8c8; --band: #f3f5f7; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: #fff; margin: 0 auto; max-width: 1000px; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 20px 0 6px; }
p, li { max-width: 75ch; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta code { font-size: 12px; word-break: break-all; }
.banner { border: 3px solid #b00020; background: #fdecee; color: #5c0010; padding: 12px 16px; margin: 16px 0;
  font-size: 16px; font-weight: 600; }
.banner.ok { border-color: #1b5e20; background: #edf7ee; color: #0d3310; font-weight: 500; }
.notice { border-left: 5px solid #8a5a00; background: #fff6e0; padding: 10px 14px; margin: 12px 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--rule); padding: 5px 10px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid var(--ink); background: var(--band); }
.ci, .counts { color: var(--muted); font-size: 12px; }
.counts::before { content: " "; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px 20px; margin: 8px 0; }
.charts figure { margin: 0; }
.charts svg { width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 2px; }
.chart text { font-family: inherit; fill: var(--ink); }
.chart .chart-title { font-size: 14px; font-weight: 600; }
.chart .tick-label { font-size: 11px; fill: #333; }
.chart .axis-label { font-size: 12px; }
.chart .legend { font-size: 11.5px; }
.chart .grid { stroke: #e6e6e6; }
.chart .tick, .chart .frame { stroke: #333; }
.chart .diagonal { stroke: #8c8c8c; stroke-dasharray: 4 4; }
.chart .error-bar { stroke-width: 1.5; }
section.vessel { break-before: page; }
.methods { font-size: 13px; color: #333; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  @page { size: A4; margin: 14mm; }
  .charts { grid-template-columns: repeat(2, 1fr); }
  figure, table, .banner, .notice { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}`;

/** The report page. */
export function renderEvaluationReport(evaluation: Evaluation): string {
  const { model } = evaluation;
  const title = `Evaluation of ${model.id}@${model.version}`;
  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    `<header><h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Generated ${escapeHtml(evaluation.generatedAt)}${evaluation.engineVersion ? ` by ecgcad ${escapeHtml(evaluation.engineVersion)}` : ''}.`,
    evaluation.source
      ? ` Scores file <code>${escapeHtml(evaluation.source.file)}</code>, sha256 <code>${escapeHtml(evaluation.source.sha256)}</code>.`
      : '',
    ` Rows: ${val('rows.total', evaluation.rows.total, 0)}, scored ${val('rows.scored', evaluation.rows.scored, 0)}, not scored ${val('rows.notScored', evaluation.rows.notScored, 0)}.</p>`,
    banner(model),
    '</header>',
    summaryTable(evaluation),
    ...evaluation.vessels.map((v, i) => vesselSection(v, i, evaluation)),
    methods(evaluation),
    '</body></html>',
  ];
  return `${parts.join('\n')}\n`;
}

function banner(model: Evaluation['model']): string {
  if (!model.clinicalUse) {
    return (
      '<div class="banner" role="alert" id="clinical-use-banner">NOT FOR CLINICAL USE. The model card of ' +
      `${escapeHtml(model.id)}@${escapeHtml(model.version)} says clinicalUse: false (“${escapeHtml(model.intendedUse)}”). ` +
      'Its outputs have no clinical meaning, and neither do the figures in this report: they show what the method ' +
      'computes, not how well any patient is served.</div>'
    );
  }
  return (
    '<div class="banner ok" id="clinical-use-banner">Model card: clinical use declared. Intended use: ' +
    `${escapeHtml(model.intendedUse)}. This report evaluates it on the cohort named above only.</div>`
  );
}

function summaryTable(evaluation: Evaluation): string {
  const rows = evaluation.vessels.map((v, i) => {
    const at = `vessels.${i}`;
    if (!v.evaluable) {
      return `<tr><td>${v.vessel}</td><td>${val(`${at}.n`, v.n, 0)}</td><td>${val(`${at}.positives`, v.positives, 0)}</td><td colspan="4">not evaluable</td></tr>`;
    }
    return (
      `<tr><td><a href="#vessel-${v.vessel}">${v.vessel}</a></td><td>${val(`${at}.n`, v.n, 0)}</td>` +
      `<td>${val(`${at}.positives`, v.positives, 0)}</td><td>${val(`${at}.prevalence.value`, v.prevalence?.value, 1, 100)} %</td>` +
      `<td>${val(`${at}.auc.value`, v.auc?.value)} <span class="ci">(${interval(`${at}.auc.delong.ci95`, v.auc?.delong.ci95)})</span></td>` +
      `<td>${interval(`${at}.auc.bootstrap.ci95`, v.auc?.bootstrap.ci95)}</td>` +
      `<td>${val(`${at}.calibration.brier`, v.calibration?.brier, 4)} <span class="ci">(reference ${val(`${at}.calibration.brierPrevalenceOnly`, v.calibration?.brierPrevalenceOnly, 4)})</span></td></tr>`
    );
  });
  return (
    '<section><h2>Summary</h2><table id="summary"><thead><tr><th>Vessel</th><th>n</th><th>Positives</th>' +
    '<th>Prevalence</th><th>AUC (DeLong 95 % CI)</th><th>Bootstrap 95 % CI</th><th>Brier score</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></section>`
  );
}

function vesselSection(v: VesselEvaluation, index: number, evaluation: Evaluation): string {
  const at = `vessels.${index}`;
  const parts: string[] = [`<section class="vessel" id="vessel-${v.vessel}"><h2>${v.vessel}</h2>`];
  parts.push(
    `<p>Thresholds from the model card: rule-out ${val(`${at}.thresholds.ruleOut`, v.thresholds.ruleOut, 3)}, ` +
      `rule-in ${val(`${at}.thresholds.ruleIn`, v.thresholds.ruleIn, 3)}. Low: p &lt; rule-out; intermediate: ` +
      'rule-out ≤ p &lt; rule-in; high: p ≥ rule-in.</p>',
  );
  if (!v.evaluable) {
    parts.push(
      `<div class="notice" data-not-evaluable="${v.vessel}"><strong>Not evaluable.</strong> ${escapeHtml(v.reason ?? '')}</div>`,
    );
  } else {
    parts.push('<div class="charts">', rocChart(v), calibrationChart(v), decisionChart(v), survivalChart(v), '</div>');
    parts.push(operatingTable(v, at), strataTable(v, at), calibrationTable(v, at));
    if (v.ptpComparison) parts.push(ptpTable(v, at, evaluation));
    else if (evaluation.settings.ptp) parts.push('<p class="notice">No labelled row has every PTP input.</p>');
  }
  if (!v.evaluable && v.survival) parts.push(`<div class="charts">${survivalChart(v)}</div>`);
  parts.push(survivalTable(v, at));
  parts.push('</section>');
  return parts.join('\n');
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${caption}</figcaption></figure>`;
}

function rocChart(v: VesselEvaluation): string {
  const roc = v.roc ?? [];
  const ops = v.operatingPoints ?? [];
  const series: Series[] = [
    {
      label: `ROC, AUC ${v.auc?.value.toFixed(3)}`,
      color: COLOR.blue,
      width: 2.5,
      points: roc.map((pt) => ({ x: 1 - pt.specificity, y: pt.sensitivity })),
    },
    ...ops.map((op, i) => ({
      label: `${op.name === 'ruleOut' ? 'Rule-out' : 'Rule-in'} p ≥ ${op.threshold}`,
      color: i === 0 ? COLOR.green : COLOR.vermillion,
      noLine: true,
      markers: true,
      points: [{ x: 1 - (op.specificity.value ?? 0), y: op.sensitivity.value ?? 0 }],
    })),
  ];
  return figure(
    lineChart({
      id: `roc-${v.vessel}`,
      title: `${v.vessel}: ROC curve`,
      desc: `Sensitivity against 1 - specificity over all thresholds; AUC ${v.auc?.value.toFixed(3)}; the card's thresholds marked.`,
      xLabel: '1 − specificity',
      yLabel: 'Sensitivity',
      xDomain: [0, 1],
      yDomain: [0, 1],
      diagonal: true,
      series,
    }),
    'Dashed: chance (AUC 0.5).',
  );
}

function calibrationChart(v: VesselEvaluation): string {
  const c = v.calibration;
  if (!c) return '';
  const top = Math.min(
    1,
    Math.max(
      0.2,
      ...c.bins.map((b) => Math.max(b.meanPredicted, b.observed.ci95?.[1] ?? 0)),
      ...c.smoothed.map((s) => s.x),
    ) * 1.05,
  );
  const domain: [number, number] = [0, Number(top.toFixed(2))];
  return figure(
    lineChart({
      id: `calibration-${v.vessel}`,
      title: `${v.vessel}: calibration`,
      desc: 'Observed share of disease against mean predicted risk per decile of predicted risk, with 95 % Wilson intervals, and a LOWESS smooth; the diagonal is perfect calibration.',
      xLabel: 'Predicted risk',
      yLabel: 'Observed share with disease',
      xDomain: domain,
      yDomain: domain,
      diagonal: true,
      series: [
        { label: 'LOWESS smooth', color: COLOR.blue, width: 2.5, points: c.smoothed },
        {
          label: 'Deciles (95 % CI)',
          color: COLOR.vermillion,
          noLine: true,
          markers: true,
          points: c.bins.map((b) => ({ x: b.meanPredicted, y: b.observed.value ?? 0 })),
          errorBars: c.bins.map((b) => ({ lo: b.observed.ci95?.[0] ?? 0, hi: b.observed.ci95?.[1] ?? 0 })),
        },
      ],
    }),
    `Brier ${c.brier.toFixed(4)}; a model predicting the prevalence for everyone: ${c.brierPrevalenceOnly.toFixed(4)}.`,
  );
}

function decisionChart(v: VesselEvaluation): string {
  const dc = v.decisionCurve ?? [];
  if (dc.length === 0) return '';
  const maxNb = Math.max(0.02, ...dc.map((d) => Math.max(d.model, d.treatAll)));
  const low = -Math.max(0.02, maxNb * 0.2);
  const xMax = dc.at(-1)?.threshold ?? 0.6;
  return figure(
    lineChart({
      id: `decision-${v.vessel}`,
      title: `${v.vessel}: decision curve`,
      desc: 'Net benefit of acting on the model (p ≥ threshold) against acting on everyone and on no one, over threshold probabilities.',
      xLabel: 'Threshold probability',
      yLabel: 'Net benefit',
      xDomain: [0, xMax],
      yDomain: [Number(low.toFixed(3)), Number((maxNb * 1.08).toFixed(3))],
      series: [
        { label: 'Model', color: COLOR.blue, width: 2.5, points: dc.map((d) => ({ x: d.threshold, y: d.model })) },
        {
          label: 'Treat all',
          color: COLOR.vermillion,
          dash: '7 4',
          points: dc.map((d) => ({ x: d.threshold, y: d.treatAll })),
        },
        {
          label: 'Treat none',
          color: COLOR.grey,
          dash: '2 3',
          points: dc.map((d) => ({ x: d.threshold, y: d.treatNone })),
        },
      ],
    }),
    'Net benefit = TP/n − FP/n × pt/(1 − pt) (Vickers &amp; Elkin 2006).',
  );
}

function survivalChart(v: VesselEvaluation): string {
  const s = v.survival;
  if (!s) return '';
  const curve = (km: typeof s.low) => [{ x: 0, y: 1 }, ...km.steps.map((st) => ({ x: st.time, y: st.survival }))];
  const maxT = Math.max(s.low.steps.at(-1)?.time ?? 1, s.high.steps.at(-1)?.time ?? 1);
  const minS = Math.min(s.low.steps.at(-1)?.survival ?? 1, s.high.steps.at(-1)?.survival ?? 1);
  const bottom = Math.max(0, Math.floor((minS - 0.05) * 10) / 10);
  return figure(
    lineChart({
      id: `km-${v.vessel}`,
      title: `${v.vessel}: MACE-free survival`,
      desc: `Kaplan-Meier curves of freedom from MACE in the AI high (p ≥ ${s.threshold}) and low risk groups; log-rank p ${formatPValue(s.logRank.pValue)}.`,
      xLabel: 'Days since the ECG',
      yLabel: 'Free of MACE',
      xDomain: [0, maxT],
      yDomain: [bottom, 1],
      tickFormat: (t) => String(Number(t.toFixed(2))),
      series: [
        { label: `AI low (n ${s.low.n})`, color: COLOR.blue, step: true, width: 2.5, points: curve(s.low) },
        { label: `AI high (n ${s.high.n})`, color: COLOR.vermillion, step: true, width: 2.5, points: curve(s.high) },
      ],
    }),
    `Log-rank χ² ${s.logRank.chiSquare.toFixed(2)} (1 df), p ${formatPValue(s.logRank.pValue)}.`,
  );
}

function opRow(op: EvaluatedOperatingPoint, path: string): string {
  const b = op.bootstrap;
  const cell = (name: 'sensitivity' | 'specificity' | 'ppv' | 'npv') =>
    `<td>${prop(`${path}.${name}`, op[name])}<br><span class="ci">bootstrap ${interval(`${path}.bootstrap.${name}`, b[name], 1, 100)}</span></td>`;
  return `<tr><td>${op.name === 'ruleOut' ? 'Rule-out' : 'Rule-in'} (p ≥ ${val(`${path}.threshold`, op.threshold, 3)})</td>${cell('sensitivity')}${cell('specificity')}${cell('ppv')}${cell('npv')}</tr>`;
}

function operatingTable(v: VesselEvaluation, at: string): string {
  const rows = (v.operatingPoints ?? []).map((op, i) => opRow(op, `${at}.operatingPoints.${i}`));
  return (
    '<h3>Thresholds as operating points</h3><table class="operating"><thead><tr><th>Threshold</th><th>Sensitivity</th>' +
    `<th>Specificity</th><th>PPV</th><th>NPV</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function strataTable(v: VesselEvaluation, at: string): string {
  const rows = (v.strata ?? []).map(
    (s, i) =>
      `<tr><td>${s.stratum}</td><td>${val(`${at}.strata.${i}.n`, s.n, 0)}</td><td>${val(`${at}.strata.${i}.share`, s.share, 1, 100)} %</td>` +
      `<td>${prop(`${at}.strata.${i}.prevalence`, s.prevalence)}</td></tr>`,
  );
  return (
    '<h3>Strata</h3><table class="strata"><thead><tr><th>AI stratum</th><th>n</th><th>Share of cohort</th>' +
    `<th>Observed prevalence (95 % CI) events/n</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function calibrationTable(v: VesselEvaluation, at: string): string {
  const c = v.calibration;
  if (!c) return '';
  const rows = c.bins.map(
    (b, i) =>
      `<tr><td>${b.bin}</td><td>${val(`${at}.calibration.bins.${i}.n`, b.n, 0)}</td><td>${val(`${at}.calibration.bins.${i}.pMin`, b.pMin)}–${val(`${at}.calibration.bins.${i}.pMax`, b.pMax)}</td>` +
      `<td>${val(`${at}.calibration.bins.${i}.meanPredicted`, b.meanPredicted, 1, 100)} %</td><td>${prop(`${at}.calibration.bins.${i}.observed`, b.observed)}</td></tr>`,
  );
  return (
    `<h3>Calibration</h3><p>Mean predicted risk ${val(`${at}.calibration.meanPredicted`, c.meanPredicted, 1, 100)} % against an observed prevalence of ` +
    `${val(`${at}.calibration.prevalence`, c.prevalence, 1, 100)} %. Brier score ${val(`${at}.calibration.brier`, c.brier, 4)}; ` +
    `prevalence-only reference ${val(`${at}.calibration.brierPrevalenceOnly`, c.brierPrevalenceOnly, 4)}; Brier skill ` +
    `${val(`${at}.calibration.brierSkill`, c.brierSkill, 3)}. Observed / expected events ` +
    `${val(`${at}.calibration.observedExpected`, c.observedExpected, 3)}.` +
    (c.recalibration
      ? ` Calibration intercept ${val(`${at}.calibration.recalibration.intercept.value`, c.recalibration.intercept.value, 3)} ` +
        `<span class="ci">(${interval(`${at}.calibration.recalibration.intercept.ci95`, c.recalibration.intercept.ci95)})</span>, ` +
        `slope ${val(`${at}.calibration.recalibration.slope.value`, c.recalibration.slope.value, 3)} ` +
        `<span class="ci">(${interval(`${at}.calibration.recalibration.slope.ci95`, c.recalibration.slope.ci95)})</span>; ideal 0 and 1.`
      : '') +
    '</p>' +
    '<table class="calibration"><thead><tr><th>Decile</th><th>n</th><th>Predicted range</th><th>Mean predicted</th>' +
    `<th>Observed (95 % CI) events/n</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function ptpTable(v: VesselEvaluation, at: string, evaluation: Evaluation): string {
  const c = v.ptpComparison;
  if (!c) return '';
  const p = `${at}.ptpComparison`;
  const row = (label: string, key: 'ruleOutSensitivity' | 'ruleOutNpv' | 'ruledOut' | 'greyZone') =>
    `<tr><td>${label}</td><td>${prop(`${p}.ptp.${key}`, c.ptp[key])}</td><td>${prop(`${p}.combined.${key}`, c.combined[key])}</td></tr>`;
  const nri = (label: string, key: 'events' | 'nonEvents') =>
    `<tr><td>${label}</td><td>${val(`${p}.nri.${key}.up`, c.nri[key].up, 0)}</td><td>${val(`${p}.nri.${key}.down`, c.nri[key].down, 0)}</td>` +
    `<td>${val(`${p}.nri.${key}.nri`, c.nri[key].nri, 3)}</td><td>${interval(`${p}.nri.${key}.ci95`, c.nri[key].ci95)}</td></tr>`;
  const missing = Object.entries(c.missing);
  const matrix = evaluation.settings.ptp?.matrix;
  const matrixRows = matrix
    ? STRATA.map(
        (level) => `<tr><td>PTP ${level}</td>${STRATA.map((s) => `<td>${matrix[level][s]}</td>`).join('')}</tr>`,
      ).join('')
    : '';
  return (
    `<h3>PTP alone vs PTP combined with the AI stratum (${escapeHtml(c.model)})</h3>` +
    `<p>${val(`${p}.n`, c.n, 0)} labelled cases with every PTP input (${val(`${p}.events`, c.events, 0)} with disease).` +
    (missing.length > 0 ? ` Without PTP: ${missing.map(([k, n]) => `${escapeHtml(k)} ${n}`).join(', ')}.` : '') +
    '</p><table class="ptp"><thead><tr><th></th><th>PTP alone</th><th>PTP + AI</th></tr></thead><tbody>' +
    row('Rule-out sensitivity (disease not classed low)', 'ruleOutSensitivity') +
    row('Rule-out NPV (low without disease)', 'ruleOutNpv') +
    row('Classed low (spared a test)', 'ruledOut') +
    row('Grey zone (intermediate)', 'greyZone') +
    '</tbody></table><table class="nri"><thead><tr><th>NRI</th><th>Up</th><th>Down</th><th>NRI</th><th>95 % CI</th></tr></thead><tbody>' +
    nri('Events (with disease)', 'events') +
    nri('Non-events', 'nonEvents') +
    `<tr><td><strong>Total</strong></td><td></td><td></td><td><strong>${val(`${p}.nri.total.nri`, c.nri.total.nri, 3)}</strong></td>` +
    `<td>${interval(`${p}.nri.total.ci95`, c.nri.total.ci95)} <span class="ci">p ${pval(`${p}.nri.total.pValue`, c.nri.total.pValue)}</span></td></tr>` +
    '</tbody></table>' +
    (matrix
      ? `<table class="matrix"><caption>Reclassification matrix (${escapeHtml(evaluation.settings.ptp?.matrixSource ?? '')}): combined level</caption><thead><tr><th></th>${STRATA.map((s) => `<th>AI ${s}</th>`).join('')}</tr></thead><tbody>${matrixRows}</tbody></table>`
      : '') +
    matrixWarningList(evaluation.settings.ptp?.matrixWarnings ?? [])
  );
}

function matrixWarningList(warnings: readonly string[]): string {
  if (warnings.length === 0) return '';
  const items = warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('');
  return `<div class="notice matrix-warnings"><strong>This matrix departs from the default's rules:</strong><ul>${items}</ul></div>`;
}

function survivalTable(v: VesselEvaluation, at: string): string {
  const s = v.survival;
  if (!s) return `<h3>MACE follow-up</h3><p>${escapeHtml(v.survivalReason ?? 'no follow-up')}.</p>`;
  const last = (km: typeof s.low) => km.steps.at(-1)?.survival;
  const group = (name: 'low' | 'high') =>
    `<tr><td>AI ${name}</td><td>${val(`${at}.survival.${name}.n`, s[name].n, 0)}</td><td>${val(`${at}.survival.${name}.events`, s[name].events, 0)}</td>` +
    `<td>${val(`${at}.survival.logRank.expected.${name === 'low' ? 0 : 1}`, s.logRank.expected[name === 'low' ? 0 : 1], 1)}</td>` +
    `<td>${(100 * (last(s[name]) ?? Number.NaN)).toFixed(1)} %</td></tr>`;
  return (
    `<h3>MACE by AI risk group</h3><p>${escapeHtml(s.grouping)}. Log-rank χ² ${val(`${at}.survival.logRank.chiSquare`, s.logRank.chiSquare, 2)} ` +
    `(1 df), p ${pval(`${at}.survival.logRank.pValue`, s.logRank.pValue)}.</p>` +
    '<table class="survival"><thead><tr><th>Group</th><th>n</th><th>MACE observed</th><th>Expected (log-rank)</th>' +
    `<th>Free of MACE at last time</th></tr></thead><tbody>${group('low')}${group('high')}</tbody></table>`
  );
}

function methods(evaluation: Evaluation): string {
  const { bootstrap } = evaluation.settings;
  return `<section class="methods"><h2>Methods</h2><ul>
<li>A case is called positive when p ≥ threshold. Only rows with both a probability and a label for a vessel count for it; a vessel needs at least two cases of each class.</li>
<li>AUC: Mann-Whitney statistic (ties count ½). 95 % CIs by DeLong (1988) and by a stratified percentile bootstrap (${bootstrap.resamples} resamples, seed ${bootstrap.seed}); operating-point bootstrap intervals come from the same resamples. Proportions carry 95 % Wilson intervals.</li>
<li>Calibration: ${evaluation.settings.calibrationGroups} groups of equal size by predicted risk; LOWESS (Cleveland 1979, span 2/3, no robustness iterations); Brier score against a model predicting the prevalence; calibration intercept (logit(p) as offset) and slope by logistic regression on logit(p), Wald 95 % CIs.</li>
<li>Decision curve: net benefit TP/n − FP/n × pt/(1 − pt) against treat-all and treat-none (Vickers &amp; Elkin 2006).</li>
<li>PTP comparison${evaluation.settings.ptp ? ` (${escapeHtml(evaluation.settings.ptp.model)}${evaluation.settings.ptp.reference ? `: ${escapeHtml(evaluation.settings.ptp.reference)}` : ''})` : ''}: rule-out = classed low. Categorical NRI (Pencina 2008) over low &lt; intermediate &lt; high, 95 % Wald CIs with variance (P(up) + P(down) − (P(up) − P(down))²)/n per group.</li>
<li>MACE: Kaplan-Meier with Greenwood SEs; log-rank test with the hypergeometric variance (χ², 1 df).</li>
</ul>
<h3>References</h3>
<ol class="references">
<li>Hanley JA, McNeil BJ. The meaning and use of the area under a ROC curve. Radiology 1982;143:29-36.</li>
<li>DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated ROC curves: a nonparametric approach. Biometrics 1988;44:837-845.</li>
<li>Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven methods. Stat Med 1998;17:857-872.</li>
<li>Cleveland WS. Robust locally weighted regression and smoothing scatterplots. J Am Stat Assoc 1979;74:829-836.</li>
<li>Brier GW. Verification of forecasts expressed in terms of probability. Mon Weather Rev 1950;78:1-3.</li>
<li>Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction models. Med Decis Making 2006;26:565-574.</li>
<li>Pencina MJ, D'Agostino RB Sr, D'Agostino RB Jr, Vasan RS. Evaluating the added predictive ability of a new marker. Stat Med 2008;27:157-172.</li>
<li>Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc 1958;53:457-481.</li>
<li>Mantel N. Evaluation of survival data and two new rank order statistics arising in its consideration. Cancer Chemother Rep 1966;50:163-170.</li>
</ol></section>`;
}
