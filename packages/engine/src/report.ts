/**
 * Terminal output of `ecgcad run` and the demo: a per-vessel table of probabilities and strata, one line per
 * refused or failed input, and a progress bar on long runs (TTY only).
 */
import { basename } from 'node:path';
import { VESSELS } from '@ecgcad/ecg';
import type { EcgOutcome } from './embedded.js';

const STRATUM_MARK: Record<string, string> = { low: 'low', intermediate: 'mid', high: 'HIGH' };

function pad(text: string, width: number): string {
  return text.length >= width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** The results table (scored and not-analysable ECGs), one row per input. */
export function formatTable(outcomes: EcgOutcome[]): string {
  const rows = outcomes.filter((o): o is Extract<EcgOutcome, { kind: 'done' }> => o.kind === 'done');
  if (rows.length === 0) return '';
  const fileWidth = Math.min(40, Math.max(6, ...rows.map((r) => basename(r.source).length + 1)));
  const header = `${pad('file', fileWidth)} ${VESSELS.map((v) => pad(v, 12)).join(' ')} result`;
  const lines = [header, '-'.repeat(header.length + 10)];
  for (const row of rows) {
    const p = row.prediction;
    if (p.status === 'scored') {
      const cells = VESSELS.map((vessel) => {
        const v = p.vessels.find((x) => x.vessel === vessel);
        return pad(v ? `${v.probability.toFixed(3)} ${STRATUM_MARK[v.stratum]}` : '-', 12);
      });
      const high = p.vessels.some((v) => v.stratum === 'high');
      lines.push(`${pad(basename(row.source), fileWidth)} ${cells.join(' ')} ${high ? 'flagged' : 'scored'}`);
    } else {
      lines.push(
        `${pad(basename(row.source), fileWidth)} ${pad(`not analysable: ${p.reasons.join('; ')}`, 4 * 13 + 20)}`,
      );
    }
  }
  return lines.join('\n');
}

/** One line per input that produced no Bundle. */
export function formatProblems(outcomes: EcgOutcome[]): string[] {
  const lines: string[] = [];
  for (const o of outcomes) {
    if (o.kind === 'refused') lines.push(`refused  ${o.source}: ${o.code}: ${o.reason}`);
    else if (o.kind === 'failed') lines.push(`failed   ${o.source}: ${o.stage} stage: ${o.reason}`);
  }
  return lines;
}

/** A one-line progress bar on a TTY stream; does nothing elsewhere. */
export class ProgressLine {
  private done = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;
  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    enabled?: boolean,
  ) {
    this.enabled = enabled ?? (stream.isTTY === true && total >= 10);
  }

  tick(): void {
    this.done++;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && this.done < this.total) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    this.stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total}`);
  }

  stop(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
