/**
 * ECG results -> CDS Hooks cards (spec: Card Attributes). Pure. One card per recent result, newest first:
 * - indicator from the highest stratum: high -> `warning`, intermediate or low -> `info`; a not-analysable ECG ->
 *   `info` saying so. `critical` is never used: a screening estimate is not an emergency.
 * - summary: one sentence under 140 characters naming the high (or intermediate) vessels and, with PTP, the
 *   combined category;
 * - detail (GitHub-flavoured Markdown): per-vessel probability, stratum and combined category, the PTP, the model,
 *   and the model's "not for clinical use" note when the results carry one;
 * - a SMART link to the ECG viewer with `appContext` `{"ecg":"<ECG Observation id>"}` (CONTRACTS C4).
 */
import type { Stratum } from '@ecgcad/ecg';
import { SYSTEMS } from '@ecgcad/fhir-writer';
import type { CombinedCategory, EcgResult, PtpResult, VesselResult } from './results.js';
import type { Card } from './spec.js';

/** Options of {@link buildCards}. */
export interface CardOptions {
  now: Date;
  /** Results older than this many days (by acquisition time) are left out. */
  recentDays: number;
  /** At most this many cards (the newest). */
  maxCards: number;
  /** SMART launch URL of the ECG viewer. */
  appLaunchUrl: string;
  /** A new card uuid. */
  newId: () => string;
  /** The card source label. Default `ecgcad ECG-AI`. */
  sourceLabel?: string;
}

/** The longest summary allowed (the spec: "<140-character"). */
export const MAX_SUMMARY = 139;

const RANK: Record<Stratum, number> = { low: 0, intermediate: 1, high: 2 };
const COMBINED_WORDS: Record<CombinedCategory, string> = {
  low: 'rule-out',
  intermediate: 'non-invasive testing',
  high: 'testing with priority',
};

/** The time a result counts from: acquisition, else scoring. */
function resultTime(result: EcgResult): number {
  const t = Date.parse(result.acquiredAt ?? result.issued ?? '');
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/** The highest stratum of a scored result (undefined when it has no vessel). */
export function highestStratum(result: EcgResult): Stratum | undefined {
  let best: Stratum | undefined;
  for (const v of result.vessels) if (best === undefined || RANK[v.stratum] > RANK[best]) best = v.stratum;
  return best;
}

/** The card indicator of a result. */
export function indicatorOf(result: EcgResult): Card['indicator'] {
  return result.status === 'scored' && highestStratum(result) === 'high' ? 'warning' : 'info';
}

function highestCombined(vessels: VesselResult[]): CombinedCategory | undefined {
  let best: CombinedCategory | undefined;
  for (const v of vessels) if (v.combined && (best === undefined || RANK[v.combined] > RANK[best])) best = v.combined;
  return best;
}

/** `2026-11-26` from a FHIR dateTime as written (the ECG's local date), or undefined. */
function dateOf(dateTime: string | undefined): string | undefined {
  return dateTime && /^\d{4}-\d{2}-\d{2}/.test(dateTime) ? dateTime.slice(0, 10) : undefined;
}

/** The card summary: one sentence, at most {@link MAX_SUMMARY} characters. */
export function summaryOf(result: EcgResult): string {
  const date = dateOf(result.acquiredAt);
  const head = `${result.notForClinicalUse ? '[Demo model] ' : ''}ECG-AI${date ? ` (ECG ${date})` : ''}:`;
  let text: string;
  if (result.status === 'not-analysable') {
    text = `${head} ECG not analysable, no coronary risk estimate`;
  } else {
    const top = highestStratum(result);
    const named = result.vessels.filter((v) => v.stratum === top).map((v) => v.vessel);
    if (top === 'high') text = `${head} high risk of severe stenosis in ${named.join(', ')}`;
    else if (top === 'intermediate') text = `${head} intermediate stenosis risk in ${named.join(', ')}`;
    else if (top === 'low') text = `${head} low stenosis risk in all ${result.vessels.length} vessels`;
    else text = `${head} no vessel result`;
    const combined = highestCombined(result.vessels);
    if (combined) text += `; with PTP: ${COMBINED_WORDS[combined]}`;
  }
  return text.length <= MAX_SUMMARY ? text : `${text.slice(0, MAX_SUMMARY - 1)}\u2026`;
}

/** Text from FHIR made safe inside GitHub-flavoured Markdown (and a table cell). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`).replace(/\s+/g, ' ');
}

/** A probability as a percentage: one decimal under 10 %, whole numbers above. */
export function percent(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return 'n/a';
  const pct = p * 100;
  const shown = pct < 10 ? String(Math.round(pct * 10) / 10) : String(Math.round(pct));
  return `${shown} %`;
}

/** `2026-11-26 08:59 (+01:00)` from a FHIR dateTime; other shapes as written. */
export function readableTime(dateTime: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(dateTime);
  if (!m) return dateTime;
  return `${m[1]} ${m[2]}${m[3] ? ` (${m[3] === 'Z' ? 'UTC' : m[3]})` : ''}`;
}

function ptpLines(ptp: PtpResult | undefined, vessels: VesselResult[]): string[] {
  if (!ptp) {
    const missing = vessels.find((v) => v.combinedMissing)?.combinedMissing;
    return missing ? [`Pre-test probability: ${escapeMarkdown(missing)}`] : [];
  }
  if (ptp.status !== 'final') {
    return [`Pre-test probability: ${escapeMarkdown(ptp.reason ?? `${ptp.method} not computed`)}`];
  }
  const value = (p: number | undefined, category: string | undefined, fallback: string): string =>
    `**${percent(p)}** (${escapeMarkdown(category ?? fallback)})`;
  return [
    `Pre-test probability: ${value(ptp.probability, ptp.category, ptp.method)}`,
    ...(ptp.cacs ? [`Calcium-weighted likelihood: ${value(ptp.cacs.probability, ptp.cacs.category, 'CACS-CL')}`] : []),
  ];
}

/** The card detail (GitHub-flavoured Markdown). */
export function detailOf(result: EcgResult): string {
  const when = result.acquiredAt ? `ECG of ${escapeMarkdown(readableTime(result.acquiredAt))}` : 'ECG';
  const lines: string[] = [];
  if (result.notForClinicalUse)
    lines.push(`> **Not for clinical use.** ${escapeMarkdown(result.notForClinicalUse)}`, '');
  lines.push(`**${when}**${result.model ? `, model ${escapeMarkdown(result.model)}` : ''}`, '');
  if (result.status === 'not-analysable') {
    lines.push('The ECG could not be analysed, so there is no coronary risk estimate for it.');
    if (result.reasons.length > 0) {
      lines.push('', ...result.reasons.map((r) => `- ${escapeMarkdown(r)}`));
    }
    return lines.join('\n');
  }
  const withCombined = result.vessels.some((v) => v.combined);
  lines.push(
    `| Vessel | Probability | ECG-AI stratum |${withCombined ? ' Combined with PTP |' : ''}`,
    `| --- | --- | --- |${withCombined ? ' --- |' : ''}`,
  );
  for (const v of result.vessels) {
    const stratum = v.stratum === 'high' ? '**high**' : v.stratum;
    const combined = v.combined
      ? v.combined === 'high'
        ? `**${COMBINED_WORDS.high}**`
        : COMBINED_WORDS[v.combined]
      : 'n/a';
    lines.push(`| ${v.vessel} | ${percent(v.probability)} | ${stratum} |${withCombined ? ` ${combined} |` : ''}`);
  }
  const ptp = ptpLines(result.ptp, result.vessels);
  if (ptp.length > 0) lines.push('', ...ptp.flatMap((l, i) => (i === 0 ? [l] : ['', l])));
  lines.push(
    '',
    'Outcome: severe stenosis (>= 70 %) or occlusion per vessel on coronary CT angiography. Strata use the model ' +
      "card's rule-out and rule-in thresholds; an estimate from a resting ECG, not a diagnosis.",
  );
  return lines.join('\n');
}

/** The recent results as cards, newest first, at most `maxCards`. An empty list when there is none. */
export function buildCards(results: readonly EcgResult[], options: CardOptions): Card[] {
  const from = options.now.getTime() - options.recentDays * 86_400_000;
  const recent = results
    .filter((r) => resultTime(r) >= from)
    .sort((a, b) => resultTime(b) - resultTime(a))
    .slice(0, Math.max(0, options.maxCards));
  return recent.map((result) => ({
    uuid: options.newId(),
    summary: summaryOf(result),
    indicator: indicatorOf(result),
    detail: detailOf(result),
    source: {
      label: options.sourceLabel ?? 'ecgcad ECG-AI',
      topic: { system: SYSTEMS.concept, code: 'ecg-cad-risk', display: 'ECG-AI coronary stenosis risk' },
    },
    links: [
      {
        label: 'Open ECG viewer',
        url: options.appLaunchUrl,
        type: 'smart' as const,
        appContext: JSON.stringify({ ecg: result.ecgId }),
      },
    ],
  }));
}
