/**
 * `ecgcad inspect [--json] FILE`: decode one ECG file and show what the engine sees in it: format, id, rate,
 * duration, the leads as stored with their first values in microvolts, and the quality gate's verdict.
 * Exit 0 on success; on a file that cannot be read or decoded, exit 1 with one line on stderr.
 */
import { readFile } from 'node:fs/promises';
import { EcgcadError } from '@ecgcad/ecg';
import { type InspectReport, inspectEcg } from '@ecgcad/ingest';
import type { Command } from 'commander';

/** Formats a report as a short human-readable table. */
export function formatInspectReport(report: InspectReport): string {
  const lines = [
    `format    ${report.format}`,
    `id        ${report.id}`,
    `rate      ${report.sampleRateHz} Hz`,
    `duration  ${report.durationS} s`,
    `quality   ${report.quality.analysable ? 'analysable' : `not analysable: ${report.quality.reasons.join('; ')}`}`,
    '',
    'lead  samples  first values (uV)',
  ];
  for (const [name, lead] of Object.entries(report.leads)) {
    lines.push(`${name.padEnd(4)}  ${String(lead.samples).padStart(7)}  ${lead.firstUv.join(', ')}`);
  }
  return lines.join('\n');
}

/** One line saying why a file failed; typed errors carry patient-free messages, fs errors their code. */
function reasonOf(err: unknown): string {
  if (err instanceof EcgcadError) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('decode one ECG file (DICOM waveform, HL7 aECG, GE MUSE) and show its leads and quality verdict')
    .argument('<file>', 'the ECG file')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      let report: InspectReport;
      try {
        report = inspectEcg(new Uint8Array(await readFile(file)));
      } catch (err) {
        process.stderr.write(`ecgcad: ${file}: ${reasonOf(err).replace(/\s*\n\s*/g, ' ')}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatInspectReport(report)}\n`);
    });
}
