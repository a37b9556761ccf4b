/**
 * The scores file: one row per ECG of a labelled cohort, written by `ecgcad score` and read by `ecgcad calibrate`
 * and `ecgcad evaluate`. Plain CSV with a header, so a site's statistician can open it anywhere.
 *
 * Columns: ecg_id, path, RCA, LM, LAD, LCx (probabilities; empty when the ECG was not scored), label_<vessel>
 * (1 = >= 70 % stenosis or occlusion on CCTA, 0 = not, empty = unknown), the PTP inputs age, sex, symptoms,
 * risk_factors, cacs, follow-up mace_days and mace_event, then model (id@version), status and reason.
 */
import { VESSELS, type Vessel } from '@ecgcad/ecg';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

/** Chest-pain / symptom type, as the ESC PTP tables use it. */
export const SYMPTOM_TYPES = ['typical', 'atypical', 'non-anginal', 'dyspnoea', 'none'] as const;
export type SymptomType = (typeof SYMPTOM_TYPES)[number];

export type Sex = 'male' | 'female';

/** A binary outcome label: 1 = event / disease, 0 = not. */
export type Label = 0 | 1;

/** The optional clinical columns a manifest may carry and a scores file passes through. */
export interface ClinicalColumns {
  /** Per vessel: 1 = severe stenosis or occlusion on CCTA, 0 = not; absent = unknown. */
  labels: Partial<Record<Vessel, Label>>;
  age?: number;
  sex?: Sex;
  symptoms?: SymptomType;
  /** Count of the five ESC risk factors, 0-5. */
  riskFactors?: number;
  /** Agatston coronary artery calcium score. */
  cacs?: number;
  /** Days from the ECG to MACE or to the end of follow-up. */
  maceDays?: number;
  /** 1 = MACE at maceDays, 0 = censored at maceDays. */
  maceEvent?: Label;
}

/** How scoring of one row ended. */
export type ScoreStatus = 'scored' | 'not-analysable' | 'refused' | 'failed';

/** One row of a scores file. */
export interface ScoreRow extends ClinicalColumns {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  /** ECG id (empty when the file could not be decoded). */
  ecgId: string;
  /** The ECG file, as the manifest named it. */
  path: string;
  /** Per vessel probability in [0, 1]; absent when the ECG was not scored. */
  probabilities: Partial<Record<Vessel, number>>;
  /** `id@version` of the model that scored it. */
  model?: string;
  status: ScoreStatus;
  /** Why the row has no probabilities (refused, not analysable, failed). */
  reason?: string;
}

/** Label column name of a vessel. */
export const labelColumn = (vessel: Vessel): string => `label_${vessel}`;

/** The columns of a scores file, in order. */
export const SCORE_COLUMNS: readonly string[] = [
  'ecg_id',
  'path',
  ...VESSELS,
  ...VESSELS.map(labelColumn),
  'age',
  'sex',
  'symptoms',
  'risk_factors',
  'cacs',
  'mace_days',
  'mace_event',
  'model',
  'status',
  'reason',
];

/** A scores or manifest file that cannot be used: names the column and, where it applies, the line. */
export class ScoresFileError extends Error {
  override readonly name = 'ScoresFileError';
  constructor(
    message: string,
    readonly column?: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** One problem found in one row: the column and what is wrong (no cell values, which may be patient data). */
export interface CellProblem {
  column: string;
  problem: string;
}

const isBlank = (value: string | undefined): boolean => value === undefined || value.trim() === '';

function number(value: string): number | undefined {
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Reads the optional clinical columns of one CSV record. Blank cells are unknown; a cell that is present but
 * malformed is a problem (reported, never guessed).
 */
export function parseClinicalColumns(record: Record<string, string | undefined>): {
  values: ClinicalColumns;
  problems: CellProblem[];
} {
  const problems: CellProblem[] = [];
  const values: ClinicalColumns = { labels: {} };
  const label = (column: string): Label | undefined => {
    const cell = record[column];
    if (isBlank(cell)) return undefined;
    const text = (cell as string).trim();
    if (text === '0' || text === '1') return Number(text) as Label;
    problems.push({ column, problem: 'must be 0, 1 or empty' });
    return undefined;
  };
  const bounded = (column: string, min: number, max: number, integer: boolean): number | undefined => {
    const cell = record[column];
    if (isBlank(cell)) return undefined;
    const n = number(cell as string);
    if (n === undefined || n < min || n > max || (integer && !Number.isInteger(n))) {
      problems.push({ column, problem: `must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}` });
      return undefined;
    }
    return n;
  };
  for (const vessel of VESSELS) {
    const value = label(labelColumn(vessel));
    if (value !== undefined) values.labels[vessel] = value;
  }
  const age = bounded('age', 0, 130, false);
  if (age !== undefined) values.age = age;
  if (!isBlank(record.sex)) {
    const sex = (record.sex as string).trim().toLowerCase();
    if (sex === 'male' || sex === 'm') values.sex = 'male';
    else if (sex === 'female' || sex === 'f') values.sex = 'female';
    else problems.push({ column: 'sex', problem: 'must be male, female, M, F or empty' });
  }
  if (!isBlank(record.symptoms)) {
    const symptoms = (record.symptoms as string).trim().toLowerCase();
    if ((SYMPTOM_TYPES as readonly string[]).includes(symptoms)) values.symptoms = symptoms as SymptomType;
    else problems.push({ column: 'symptoms', problem: `must be one of ${SYMPTOM_TYPES.join(', ')} or empty` });
  }
  const riskFactors = bounded('risk_factors', 0, 5, true);
  if (riskFactors !== undefined) values.riskFactors = riskFactors;
  const cacs = bounded('cacs', 0, 100_000, false);
  if (cacs !== undefined) values.cacs = cacs;
  const maceDays = bounded('mace_days', 0, 100_000, false);
  if (maceDays !== undefined) values.maceDays = maceDays;
  const maceEvent = label('mace_event');
  if (maceEvent !== undefined) values.maceEvent = maceEvent;
  if ((values.maceDays === undefined) !== (values.maceEvent === undefined)) {
    problems.push({
      column: values.maceDays === undefined ? 'mace_days' : 'mace_event',
      problem: 'mace_days and mace_event go together',
    });
    // Half a follow-up pair is no follow-up: keep neither.
    delete values.maceDays;
    delete values.maceEvent;
  }
  return { values, problems };
}

/** Line breaks inside a cell (a quoted cell may span lines). */
const LINE_BREAKS = /\r\n|\r|\n/g;

/**
 * Parses CSV text with a header into records (column name -> cell) and the 1-based line each record starts on
 * (blank lines and cells that span lines counted). ScoresFileError for malformed CSV, a repeated column name or a
 * row with more or fewer cells than the header.
 */
export function parseCsv(text: string): {
  columns: string[];
  records: Array<Record<string, string>>;
  lines: number[];
} {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    // With `info`, csv-parse returns { record, info } per row (its typings only know the plain shape).
    rows = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
      trim: false,
      info: true,
    }) as unknown as typeof rows;
  } catch (err) {
    // csv-parse's messages quote the offending cell, which may be patient data: say what broke by its code.
    const { lines: line, code } = err as { lines?: number; code?: string };
    const what = code ? code.toLowerCase().replace(/^csv_/, '').replaceAll('_', ' ') : 'unreadable';
    throw new ScoresFileError(`not valid CSV${line ? ` at line ${line}` : ''}: ${what}`, undefined, line);
  }
  const [header, ...body] = rows;
  if (!header) throw new ScoresFileError('the file is empty: a header line is needed');
  const columns = header.record.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) throw new ScoresFileError(`column "${name}" appears twice in the header`, name, 1);
    seen.add(name);
  }
  // info.lines is the line a record ends on; a quoted cell with line breaks started it earlier.
  const lines = body.map(
    ({ record, info }) => info.lines - record.reduce((n, cell) => n + (cell.match(LINE_BREAKS)?.length ?? 0), 0),
  );
  const records = body.map(({ record }) => Object.fromEntries(columns.map((name, i) => [name, record[i] ?? ''])));
  return { columns, records, lines };
}

/**
 * Reads a scores file. Throws ScoresFileError naming the column (and line) for a missing column, a probability
 * that is not a number in [0, 1] (NaN included), a malformed label or clinical cell.
 */
export function readScores(text: string): ScoreRow[] {
  const { columns, records, lines } = parseCsv(text);
  for (const required of ['ecg_id', 'path', ...VESSELS]) {
    if (!columns.includes(required)) throw new ScoresFileError(`missing column "${required}"`, required);
  }
  return records.map((record, index) => {
    const line = lines[index] as number;
    const { values, problems } = parseClinicalColumns(record);
    const first = problems[0];
    if (first)
      throw new ScoresFileError(`line ${line}, column "${first.column}": ${first.problem}`, first.column, line);
    const probabilities: Partial<Record<Vessel, number>> = {};
    for (const vessel of VESSELS) {
      const cell = record[vessel];
      if (isBlank(cell)) continue;
      const p = number(cell as string);
      if (p === undefined || p < 0 || p > 1) {
        throw new ScoresFileError(
          `line ${line}, column "${vessel}": probability must be a number from 0 to 1`,
          vessel,
          line,
        );
      }
      probabilities[vessel] = p;
    }
    const status = (record.status?.trim() ||
      (Object.keys(probabilities).length > 0 ? 'scored' : 'failed')) as ScoreStatus;
    if (!['scored', 'not-analysable', 'refused', 'failed'].includes(status)) {
      throw new ScoresFileError(
        `line ${line}, column "status": must be scored, not-analysable, refused or failed`,
        'status',
        line,
      );
    }
    // A scored row without probabilities (or a refused one with them) is a broken file, not a result.
    const scored = Object.keys(probabilities).length > 0;
    if (scored !== (status === 'scored')) {
      const column = scored ? (VESSELS.find((v) => probabilities[v] !== undefined) as string) : 'status';
      throw new ScoresFileError(
        `line ${line}, column "${column}": ${scored ? `probabilities belong to scored rows only (status ${status})` : 'a scored row needs probabilities'}`,
        column,
        line,
      );
    }
    const row: ScoreRow = {
      line,
      ecgId: record.ecg_id ?? '',
      path: record.path ?? '',
      probabilities,
      status,
      ...values,
    };
    if (!isBlank(record.model)) row.model = (record.model as string).trim();
    if (!isBlank(record.reason)) row.reason = (record.reason as string).trim();
    return row;
  });
}

const cell = (value: number | string | undefined): string => (value === undefined ? '' : String(value));

/** The CSV header line of a scores file (with its newline). */
export function scoresHeader(): string {
  return stringify([SCORE_COLUMNS as string[]]);
}

/** CSV lines (with newlines) for rows, in SCORE_COLUMNS order. Probabilities keep full float precision. */
export function formatScoreRows(rows: ReadonlyArray<Omit<ScoreRow, 'line'>>): string {
  return stringify(
    rows.map((row) => [
      row.ecgId,
      row.path,
      ...VESSELS.map((v) => cell(row.probabilities[v])),
      ...VESSELS.map((v) => cell(row.labels[v])),
      cell(row.age),
      cell(row.sex),
      cell(row.symptoms),
      cell(row.riskFactors),
      cell(row.cacs),
      cell(row.maceDays),
      cell(row.maceEvent),
      cell(row.model),
      row.status,
      cell(row.reason),
    ]),
  );
}

/** The rows of a vessel that have both a probability and a label: what calibration and evaluation use. */
export function labelled(
  rows: readonly ScoreRow[],
  vessel: Vessel,
): { p: Float64Array; y: Uint8Array; rows: ScoreRow[] } {
  const kept = rows.filter((r) => r.probabilities[vessel] !== undefined && r.labels[vessel] !== undefined);
  const p = new Float64Array(kept.length);
  const y = new Uint8Array(kept.length);
  kept.forEach((r, i) => {
    p[i] = r.probabilities[vessel] as number;
    y[i] = r.labels[vessel] as Label;
  });
  return { p, y, rows: kept };
}
