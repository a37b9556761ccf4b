import { formatScoreRows, ScoresFileError, scoresHeader } from '@ecgcad/clinical';
import type { ModelRef, Prediction } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import {
  InOrder,
  isFailure,
  problemRow,
  readExistingOutput,
  readManifest,
  remainingItems,
  type ScoreItem,
  scoreRowOf,
} from './scoring.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('readManifest', () => {
  it('resolves paths against the manifest folder and reads the clinical columns', () => {
    const items = readManifest(
      'path,label_LAD,age,sex\necgs/a.dcm,1,64,M\n\n/abs/b.xml,,,\n c.dcm ,0,,female\n',
      '/data/cohort',
    );
    expect(items.map((i) => [i.line, i.path, i.file, i.problem])).toEqual([
      [2, 'ecgs/a.dcm', '/data/cohort/ecgs/a.dcm', undefined],
      [4, '/abs/b.xml', '/abs/b.xml', undefined],
      [5, 'c.dcm', '/data/cohort/c.dcm', undefined],
    ]);
    expect(items[0]?.clinical).toEqual({ labels: { LAD: 1 }, age: 64, sex: 'male' });
  });

  it('refuses a manifest without a path column, naming it', () => {
    expect(() => readManifest('file,label_LAD\na.dcm,1\n', '/x')).toThrow(ScoresFileError);
    expect(() => readManifest('file,label_LAD\na.dcm,1\n', '/x')).toThrow(/"path"/);
  });

  it('marks bad rows with a problem naming columns only, never cells', () => {
    const items = readManifest(
      'path,label_LAD,label_RCA,mace_days,mace_event\n' +
        'a.dcm,2,1,,\n' +
        ',0,0,,\n' +
        'b.dcm,0,yes,10,\n' +
        'a.dcm,0,0,,\n' +
        '"x\ny.dcm",0,0,,\n' +
        'c.dcm,0,1,10,1\n',
      '/x',
    );
    expect(items.map((i) => i.problem)).toEqual([
      'column "label_LAD": must be 0, 1 or empty',
      'column "path": empty',
      'column "label_RCA": must be 0, 1 or empty; column "mace_event": mace_days and mace_event go together',
      'column "path": same file as manifest line 2',
      'column "path": contains a line break',
      undefined,
    ]);
    expect(items[0]?.clinical).toEqual({ labels: {} });
    expect(problemRow(items[0] as ScoreItem)).toMatchObject({ status: 'failed', probabilities: {}, path: 'a.dcm' });
  });
});

describe('readExistingOutput', () => {
  const row = (path: string, status: 'scored' | 'failed') =>
    formatScoreRows([
      {
        ecgId: 'id',
        path,
        probabilities: status === 'scored' ? { RCA: 0.5, LM: 0.1, LAD: 0.2, LCx: 0.3 } : {},
        labels: {},
        status,
        ...(status === 'failed' ? { reason: 'NOT_FOUND: no file at this path' } : {}),
      },
    ]);

  it('reads the rows already written and stops before a line cut by a kill', () => {
    const whole = scoresHeader() + row('a.dcm', 'scored') + row('b.dcm', 'failed');
    const cut = row('c.dcm', 'scored').slice(0, 20);
    const existing = readExistingOutput(bytes(whole + cut));
    expect(existing.keepBytes).toBe(bytes(whole).length);
    expect(existing.hasHeader).toBe(true);
    expect([...existing.rows.keys()]).toEqual(['a.dcm', 'b.dcm']);
    expect(existing.rows.get('b.dcm')).toBe('failed');
    expect(isFailure('failed') && isFailure('refused') && !isFailure('not-analysable')).toBe(true);
  });

  it('treats an empty file or a cut header as no output yet', () => {
    expect(readExistingOutput(bytes(''))).toEqual({ keepBytes: 0, hasHeader: false, rows: new Map() });
    expect(readExistingOutput(bytes(scoresHeader().slice(0, 12))).hasHeader).toBe(false);
  });

  it('refuses a file that is not a scores file', () => {
    expect(() => readExistingOutput(bytes('path,label_LAD\na.dcm,1\n'))).toThrow(/not a scores file/);
  });

  it('remainingItems() keeps the manifest rows whose path is not in the output', () => {
    const items = readManifest('path\na.dcm\nb.dcm\nc.dcm\n', '/x');
    const existing = readExistingOutput(bytes(scoresHeader() + row('b.dcm', 'scored')));
    expect(remainingItems(items, existing.rows).map((i) => i.path)).toEqual(['a.dcm', 'c.dcm']);
  });
});

describe('scoreRowOf', () => {
  const [item] = readManifest('path,label_RCA,age\na.dcm,1,70\n', '/x') as [ScoreItem];
  const model: ModelRef = {
    id: 'm',
    version: '2',
    sha256: '0'.repeat(64),
    clinicalUse: false,
    intendedUse: 'x',
    outcome: 'y',
  };
  const ecg = { id: 'ecg-1' } as Prediction['ecg'];

  it('carries probabilities, model and the manifest columns of a scored ECG', () => {
    const prediction: Prediction = {
      status: 'scored',
      ecg,
      model,
      predictedAt: '2026-01-01T00:00:00Z',
      vessels: [
        { vessel: 'RCA', probability: 0.25, stratum: 'intermediate' },
        { vessel: 'LAD', probability: 0.75, stratum: 'high' },
      ],
    };
    expect(scoreRowOf(item, { kind: 'predicted', prediction })).toEqual({
      ecgId: 'ecg-1',
      path: 'a.dcm',
      probabilities: { RCA: 0.25, LAD: 0.75 },
      labels: { RCA: 1 },
      age: 70,
      model: 'm@2',
      status: 'scored',
    });
  });

  it('gives not-analysable, refused and failed rows no probabilities and a one-line reason', () => {
    const na: Prediction = { status: 'not-analysable', ecg, model, predictedAt: 'x', reasons: ['lead V3 flat', 'b'] };
    expect(scoreRowOf(item, { kind: 'predicted', prediction: na })).toMatchObject({
      status: 'not-analysable',
      probabilities: {},
      reason: 'lead V3 flat; b',
      model: 'm@2',
    });
    expect(scoreRowOf(item, { kind: 'refused', code: 'MALFORMED', reason: 'bad\n  tag' })).toMatchObject({
      status: 'refused',
      ecgId: '',
      reason: 'MALFORMED: bad tag',
    });
    expect(scoreRowOf(item, { kind: 'failed', ecgId: 'e', reason: 'TRANSIENT: timeout' })).toMatchObject({
      status: 'failed',
      ecgId: 'e',
      labels: { RCA: 1 },
    });
  });
});

describe('InOrder', () => {
  it('releases results in index order as the gaps fill', () => {
    const order = new InOrder<string>();
    expect(order.add(1, 'b')).toEqual([]);
    expect(order.add(2, 'c')).toEqual([]);
    expect(order.add(0, 'a')).toEqual(['a', 'b', 'c']);
    expect(order.add(3, 'd')).toEqual(['d']);
  });
});
