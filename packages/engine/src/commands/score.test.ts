import { mkdir, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { readScores, scoresHeader } from '@ecgcad/clinical';
import { synthesizeEcg } from '@ecgcad/ecg';
import { buildModelInMemory, CARD_FILE, MODEL_FILE } from '@ecgcad/infer';
import { writeAecg, writeDicomEcg } from '@ecgcad/ingest';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScoreUsageError, scoreCommand } from './score.js';

/** A stream that keeps what is written to it. */
function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

let dir: string;
let modelDir: string;
let manifest: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecgcad-score-'));
  modelDir = join(dir, 'model');
  await mkdir(modelDir);
  const { model } = buildModelInMemory();
  await writeFile(join(modelDir, MODEL_FILE), model.bytes);
  await writeFile(join(modelDir, CARD_FILE), JSON.stringify(model.card));
  await mkdir(join(dir, 'ecgs'));
  for (let i = 0; i < 12; i++) {
    const ecg = synthesizeEcg({ seed: 500 + i, fast: true });
    await writeFile(join(dir, 'ecgs', `e${i}.${i % 2 ? 'xml' : 'dcm'}`), i % 2 ? writeAecg(ecg) : writeDicomEcg(ecg));
  }
  await writeFile(join(dir, 'ecgs', 'flat.dcm'), writeDicomEcg(synthesizeEcg({ seed: 900, flatLeads: ['V3'] })));
  await writeFile(join(dir, 'ecgs', 'note.txt'), 'Patient SECRET-NAME: not an ECG');
  const rows = [
    'path,label_RCA,label_LM,label_LAD,label_LCx,age,sex,symptoms,risk_factors,cacs,mace_days,mace_event',
    ...Array.from(
      { length: 12 },
      (_, i) => `ecgs/e${i}.${i % 2 ? 'xml' : 'dcm'},${i % 2},0,1,,${50 + i},F,typical,2,0,365,0`,
    ),
    'ecgs/flat.dcm,1,0,0,0,,,,,,,',
    'ecgs/missing-SECRET.dcm,0,0,0,0,,,,,,,',
    'ecgs/note.txt,0,0,0,0,,,,,,,',
    'ecgs/e98.dcm,7,0,0,0,,,,,,,',
    'ecgs/e0.dcm,1,0,0,0,,,,,,,',
    'ecgs/e99.dcm,SECRET,0,0,0,,,,,,,',
  ];
  manifest = join(dir, 'manifest.csv');
  await writeFile(manifest, `${rows.join('\n')}\n`);
});

describe('ecgcad score', () => {
  it('scores every row through the engine, writes failures with reasons, resumes after a kill', async () => {
    const out = join(dir, 'scores.csv');
    const stdout = sink();
    const summary = await scoreCommand({ manifest, out, model: modelDir, concurrency: 8, progress: false }, stdout);
    expect(summary).toEqual({
      total: 18,
      skipped: 0,
      scored: 12,
      notAnalysable: 1,
      refused: 2,
      failed: 2,
      duplicates: 1,
      failures: 5,
    });
    const text = await readFile(out, 'utf8');
    const rows = readScores(text);
    // Manifest order, one row each.
    expect(rows.map((r) => r.line)).toEqual(Array.from({ length: 17 }, (_, i) => i + 2));
    const scored = rows.slice(0, 12);
    for (const row of scored) {
      expect(row.status).toBe('scored');
      expect(Object.keys(row.probabilities)).toEqual(['RCA', 'LM', 'LAD', 'LCx']);
      expect(row.model).toBe('ecgcad-demo@1.0.0');
      expect(row.ecgId).not.toBe('');
    }
    expect(scored[3]).toMatchObject({ labels: { RCA: 1, LM: 0, LAD: 1 }, age: 53, sex: 'female', maceDays: 365 });
    const [flat, missing, note, badLabel, badCell] = rows.slice(12);
    expect(flat).toMatchObject({ status: 'not-analysable', probabilities: {}, labels: { RCA: 1 } });
    expect(flat?.reason).toMatch(/V3/);
    expect(missing).toMatchObject({ status: 'refused', reason: 'NOT_FOUND: no file at this path' });
    expect(note).toMatchObject({ status: 'refused', ecgId: '' });
    expect(badLabel).toMatchObject({ status: 'failed', reason: 'column "label_RCA": must be 0, 1 or empty' });
    expect(rows.filter((r) => r.path === 'ecgs/e0.dcm')).toHaveLength(1);
    expect(stdout.text()).toContain('manifest line 18: not scored: column "path": same file as manifest line 2');
    expect(badCell?.status).toBe('failed');
    // The terminal names manifest lines, never paths or cells.
    expect(stdout.text()).toMatch(/manifest line 15: refused: NOT_FOUND/);
    expect(stdout.text()).not.toContain('SECRET');
    expect(text).not.toContain('SECRET-NAME');

    // A kill mid-run: the last rows are gone and the last line is cut. The rerun appends exactly what is missing.
    const keep = text.indexOf('\n', text.indexOf('ecgs/e5.xml')) + 1;
    await truncate(out, Buffer.byteLength(text.slice(0, keep + 25)));
    const resumed = await scoreCommand({ manifest, out, model: modelDir, progress: false }, sink());
    expect(resumed).toMatchObject({ total: 18, skipped: 6, scored: 6, notAnalysable: 1, failures: 5 });
    expect(await readFile(out, 'utf8')).toBe(text);

    // Nothing left: no model needed, earlier failures still count.
    const again = await scoreCommand({ manifest, out, model: join(dir, 'no-such-model'), progress: false }, sink());
    expect(again).toMatchObject({ skipped: 17, scored: 0, failures: 5 });
  }, 60_000);

  it('refuses unusable input with a usage error: no path column, an output that is not a scores file', async () => {
    const noPath = join(dir, 'no-path.csv');
    await writeFile(noPath, 'file,label_LAD\na.dcm,1\n');
    const out = join(dir, 'x.csv');
    await expect(scoreCommand({ manifest: noPath, out, model: modelDir }, sink())).rejects.toThrow(ScoreUsageError);
    await expect(scoreCommand({ manifest: noPath, out, model: modelDir }, sink())).rejects.toThrow(/"path"/);
    await expect(scoreCommand({ manifest: join(dir, 'nope.csv'), out, model: modelDir }, sink())).rejects.toThrow(
      ScoreUsageError,
    );
    const other = join(dir, 'other.csv');
    await writeFile(other, 'a,b\n1,2\n');
    await expect(scoreCommand({ manifest, out: other, model: modelDir }, sink())).rejects.toThrow(/not a scores file/);
    expect(await readFile(other, 'utf8')).toBe('a,b\n1,2\n');
  });

  it('writes the header once for an empty or header-only output', async () => {
    const small = join(dir, 'small.csv');
    await writeFile(small, 'path\necgs/e1.xml\n');
    const out = join(dir, 'small-scores.csv');
    await writeFile(out, scoresHeader());
    await scoreCommand({ manifest: small, out, model: modelDir, progress: false }, sink());
    const text = await readFile(out, 'utf8');
    expect(text.split('\n').filter((l) => l.startsWith('ecg_id,'))).toHaveLength(1);
    expect(readScores(text)).toHaveLength(1);
    // A new output in a folder that does not exist yet.
    const nested = join(dir, 'new', 'folder', 'scores.csv');
    await scoreCommand({ manifest: small, out: nested, model: modelDir, progress: false }, sink());
    expect(await readFile(nested, 'utf8')).toBe(text);
  });
});
