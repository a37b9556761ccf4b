/**
 * The shared clinical reference (../shared/CLINICAL.md beside the repo), which tests compare the encoded tables
 * with cell by cell. In a user's own clone it may be absent: those tests then report skipped with the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLINICAL_MD =
  process.env.ECGCAD_CLINICAL_MD ?? fileURLToPath(new URL('../../../shared/CLINICAL.md', import.meta.url));

/** True when CLINICAL.md is present. */
export const clinicalMdPresent: boolean = existsSync(CLINICAL_MD);

/** Why CLINICAL.md tests are skipped, for `describe.skipIf(!clinicalMdPresent)` titles. */
export const CLINICAL_MD_SKIP_REASON = `CLINICAL.md not found at ${CLINICAL_MD} (set ECGCAD_CLINICAL_MD)`;

/**
 * The first markdown table after the heading that starts with `heading`: the header cells and the body rows
 * (cells trimmed, the |---| separator dropped). Throws when the heading or its table is missing.
 */
export function markdownTableAfter(heading: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(CLINICAL_MD, 'utf8').split('\n');
  const at = lines.findIndex((line) => /^#+\s/.test(line) && line.replace(/^#+\s*/, '').startsWith(heading));
  if (at < 0) throw new Error(`CLINICAL.md has no heading starting "${heading}"`);
  const start = lines.findIndex((line, i) => i > at && line.trim().startsWith('|'));
  if (start < 0) throw new Error(`CLINICAL.md has no table after "${heading}"`);
  const table: string[][] = [];
  for (const line of lines.slice(start)) {
    if (!line.trim().startsWith('|')) break;
    const cells = line
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    table.push(cells);
  }
  const [header = [], ...rows] = table;
  return { header, rows };
}
