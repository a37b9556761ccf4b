/** Text rendering of a DriftReport for `ecgcad monitor`: pure, so tests read exactly what the operator reads. */
import { PSI_MAJOR } from '@ecgcad/clinical';
import type { DriftReport } from './monitoring.js';

/** How to draw bars: Unicode blocks, ASCII `#`, or not at all. */
export type BarStyle = 'blocks' | 'ascii' | 'none';

/** A bar of `fraction` (0..1) of `width` cells; blocks use eighths for the last cell. */
export function bar(fraction: number, width: number, style: BarStyle): string {
  if (style === 'none' || !Number.isFinite(fraction)) return '';
  const cells = Math.max(0, Math.min(1, fraction)) * width;
  if (style === 'ascii') return '#'.repeat(Math.round(cells));
  const full = Math.floor(cells);
  const eighths = Math.round((cells - full) * 8);
  return '█'.repeat(full) + (eighths > 0 ? (['', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'][eighths] as string) : '');
}

const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

/** Formats the report as the table `ecgcad monitor` prints. PSI bars span 0 .. 2 x 0.25 (full = twice the alarm). */
export function formatDriftReport(
  report: DriftReport,
  options: { model: { id: string; version: string }; bars: BarStyle; bins?: boolean },
): string {
  const lines: string[] = [`model ${options.model.id} ${options.model.version}`];
  const ref = report.reference;
  if (!ref) {
    lines.push(
      `reference: none yet (no reference-profile.json in the model folder); ${report.captured} ECGs captured towards a live one`,
    );
    return `${lines.join('\n')}\n`;
  }
  lines.push(`reference: ${report.referenceSource} (${ref.source}, ${ref.createdAt}, ${ref.n} ECGs)`);
  lines.push(`window:    ${report.windowEcgs} ECGs${report.windowSince ? ` since ${report.windowSince}` : ''}`);
  lines.push('', `${'measure'.padEnd(22)}${'n'.padStart(7)}  ${'PSI'.padStart(7)}  ${'level'.padEnd(9)}`);
  for (const row of report.rows) {
    const psi = Number.isFinite(row.psi) ? row.psi.toFixed(3) : '-';
    const drawn = bar(row.psi / (2 * PSI_MAJOR), 20, options.bars);
    lines.push(
      `${row.measure.padEnd(22)}${String(row.n).padStart(7)}  ${psi.padStart(7)}  ${row.level.padEnd(9)}${drawn ? ` ${drawn}` : ''}`,
    );
  }
  if (report.bands.length > 0) {
    lines.push(
      '',
      `${'vessel'.padEnd(8)}${'stratum'.padEnd(14)}${'reference'.padStart(10)}${'band'.padStart(16)}${'window'.padStart(9)}`,
    );
    for (const b of report.bands) {
      const outside = b.window !== undefined && (b.window < b.lower || b.window > b.upper);
      lines.push(
        `${b.vessel.padEnd(8)}${b.stratum.padEnd(14)}${pct(b.share).padStart(10)}${`${pct(b.lower)}-${pct(b.upper)}`.padStart(16)}${pct(b.window).padStart(9)}${outside ? '  OUTSIDE' : ''}`,
      );
    }
  }
  if (options.bins) {
    for (const row of report.rows) {
      lines.push('', `${row.measure} (PSI ${Number.isFinite(row.psi) ? row.psi.toFixed(3) : '-'})`);
      row.expected.forEach((e, i) => {
        const lo = i === 0 ? '-inf' : String(row.edges[i - 1]);
        const hi = i === row.edges.length ? '+inf' : String(row.edges[i]);
        const range = `[${lo}, ${hi})`.padEnd(22);
        const a = row.actual[i] ?? 0;
        const bars =
          options.bars === 'none' ? '' : `  ref ${bar(e, 15, options.bars).padEnd(15)} now ${bar(a, 15, options.bars)}`;
        lines.push(`  ${range}${pct(e).padStart(7)}${pct(a).padStart(8)}${bars}`);
      });
    }
  }
  return `${lines.join('\n')}\n`;
}
