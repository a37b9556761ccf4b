import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PermanentError } from '@ecgcad/ecg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBundle } from './bundle.js';
import { examplePrediction } from './example.js';
import { bundleFileName, FileSink } from './file-sink.js';
import { FhirWriter } from './writer.js';

describe('FileSink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecgcad-sink-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one Bundle per ECG and model version, named from both, and a resend replaces it', async () => {
    const writer = new FhirWriter({ sink: new FileSink({ dir: join(dir, 'out') }) });
    const a = await writer.write(examplePrediction({ ecgId: '1.2.3.4' }));
    const again = await writer.write(examplePrediction({ ecgId: '1.2.3.4' }));
    await writer.write(examplePrediction({ ecgId: '1.2.3.5' }));
    expect(a.target).toBe(join(dir, 'out', '1.2.3.4__ecgcad-demo@1.0.0.json'));
    expect(again.target).toBe(a.target);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual([
      '1.2.3.4__ecgcad-demo@1.0.0.json',
      '1.2.3.5__ecgcad-demo@1.0.0.json',
    ]);
    const written = JSON.parse(await readFile(a.target, 'utf8'));
    expect(written).toEqual(buildBundle(examplePrediction({ ecgId: '1.2.3.4' })));
    expect(a.entries).toHaveLength(9);
  });

  it('makes the folder again when it was removed between two Bundles', async () => {
    const out = join(dir, 'out');
    const writer = new FhirWriter({ sink: new FileSink({ dir: out }) });
    await writer.write(examplePrediction({ ecgId: '1.2.3.4' }));
    await rm(out, { recursive: true });
    const again = await writer.write(examplePrediction({ ecgId: '1.2.3.5' }));
    expect(again.target).toBe(join(out, '1.2.3.5__ecgcad-demo@1.0.0.json'));
    expect(await readdir(out)).toEqual(['1.2.3.5__ecgcad-demo@1.0.0.json']);
  });

  it('tries the folder again after a failure: a folder made in the meantime is used', async () => {
    const out = join(dir, 'out');
    await writeFile(out, 'x');
    const sink = new FileSink({ dir: out });
    const bundle = buildBundle(examplePrediction({ ecgId: '1.2.3.4' }));
    await expect(sink.deliver(bundle)).rejects.toBeInstanceOf(PermanentError);
    await rm(out);
    const written = await sink.deliver(bundle);
    expect(await readdir(out)).toEqual([basename(written.target)]);
  });

  it('writes many Bundles at once into a folder that does not exist yet', async () => {
    const out = join(dir, 'a', 'b');
    const sink = new FileSink({ dir: out });
    const ids = Array.from({ length: 20 }, (_, i) => `1.2.3.${i}`);
    await Promise.all(ids.map((ecgId) => sink.deliver(buildBundle(examplePrediction({ ecgId })))));
    expect((await readdir(out)).length).toBe(20);
  });

  it('makes safe, bounded names from hostile ids', () => {
    const name = bundleFileName(buildBundle(examplePrediction({ ecgId: `../../${'x'.repeat(400)}` })));
    expect(name).not.toContain('/');
    expect(name.length).toBeLessThanOrEqual(205);
    expect(name).toMatch(/^[^.][A-Za-z0-9._@-]+-[0-9a-f]{16}\.json$/);
  });

  it('turns an unwritable folder into a PermanentError and leaves no temp file', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const err = await new FileSink({ dir: file }).deliver(buildBundle(examplePrediction())).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(await readdir(dir)).toEqual(['not-a-dir']);
  });
});
