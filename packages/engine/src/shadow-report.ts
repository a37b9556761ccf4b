/**
 * `ecgcad shadow report` as text: per vessel the live x shadow stratum matrix, agreement, Cohen's kappa, mean
 * |p_shadow - p_live|, and how many written results the shadow would have moved to another stratum (up / down).
 */
import { type ShadowComparison, STRATA, type VesselAgreement } from '@ecgcad/infer';

const pct = (x: number | undefined): string => (x === undefined ? 'n/a' : `${(100 * x).toFixed(1)} %`);
const num = (x: number | undefined, digits: number): string => (x === undefined ? 'n/a' : x.toFixed(digits));

function vesselBlock(v: VesselAgreement): string[] {
  const head = ['live \\ shadow', ...STRATA];
  const rows = STRATA.map((stratum, i) => [stratum, ...(v.matrix[i] ?? []).map(String)]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    `    ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ')}`;
  const { written } = v;
  return [
    `  ${v.vessel}: n ${v.n}, agreement ${pct(v.agreement)}, kappa ${num(v.kappa, 3)}, mean |dp| ${num(v.meanAbsDiff, 4)}`,
    line(head),
    ...rows.map(line),
    `    ${written.changed} of ${written.n} written results would have changed stratum (up ${written.up}, down ${written.down})`,
  ];
}

/** The report as text (ends with a newline). */
export function formatShadowReport(comparison: ShadowComparison, source: string): string {
  const lines = [
    `Shadow report (${source})`,
    `  live ${comparison.live.join(', ') || 'n/a'} vs shadow ${comparison.shadow.join(', ') || 'n/a'}: ${comparison.ecgs} ECG(s) scored by both`,
  ];
  if (comparison.ecgs === 0) {
    lines.push('  no shadow records yet');
    return `${lines.join('\n')}\n`;
  }
  for (const vessel of comparison.vessels) lines.push('', ...vesselBlock(vessel));
  lines.push(
    '',
    `${comparison.written.changed} of ${comparison.written.n} written results would have changed stratum in at least one vessel`,
  );
  return `${lines.join('\n')}\n`;
}
