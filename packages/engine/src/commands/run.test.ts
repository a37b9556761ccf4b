import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConfigError, synthesizeEcg } from '@ecgcad/ecg';
import { buildModelInMemory, CARD_FILE, createPredictor, MODEL_FILE } from '@ecgcad/infer';
import { writeDicomEcg } from '@ecgcad/ingest';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './run.js';

const quiet = (): Writable => new Writable({ write: (_c, _e, done) => done() });

let dir: string;
let modelDir: string;
let inputs: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecgcad-run-'));
  modelDir = join(dir, 'model');
  await mkdir(modelDir);
  const { model } = buildModelInMemory();
  await writeFile(join(modelDir, MODEL_FILE), model.bytes);
  await writeFile(join(modelDir, CARD_FILE), JSON.stringify(model.card));
  inputs = join(dir, 'ecgs');
  await mkdir(join(inputs, 'nested'), { recursive: true });
  for (let i = 0; i < 3; i++) {
    const at = i === 2 ? join(inputs, 'nested', 'c.dcm') : join(inputs, `${'ab'[i]}.dcm`);
    await writeFile(at, writeDicomEcg(synthesizeEcg({ seed: 40 + i, fast: true })));
  }
});

describe('runCommand', () => {
  it('loads the model while it lists the files and loads the writer, then writes a Bundle per ECG', async () => {
    const out = join(dir, 'out-loaded');
    const summary = await runCommand([inputs], { out, model: modelDir, progress: false }, quiet());
    expect(summary).toMatchObject({ written: 3, refused: 0, failed: 0 });
    expect(summary.outcomes.map((o) => o.source.slice(inputs.length + 1))).toEqual(['a.dcm', 'b.dcm', 'nested/c.dcm']);
    expect((await readdir(out)).filter((f) => f.endsWith('.json'))).toHaveLength(3);
  });

  it('uses a Predictor it is given and leaves it open for its owner', async () => {
    const predictor = await createPredictor(modelDir, { session: { intraOpNumThreads: 1 } });
    try {
      const out = join(dir, 'out-shared');
      const summary = await runCommand([inputs], { out, model: modelDir, progress: false }, quiet(), predictor);
      expect(summary.written).toBe(3);
      const again = await predictor.predict(synthesizeEcg({ seed: 1, fast: true }));
      expect(again.status).toBe('scored');
    } finally {
      await predictor.close();
    }
  });

  it('reports a missing model folder as a configuration error', async () => {
    const err = await runCommand([inputs], { out: join(dir, 'x'), model: join(dir, 'no-model') }, quiet()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
  });

  it('reports a writer configuration error raised while the model loads', async () => {
    const config = join(dir, 'ptp.json');
    await writeFile(
      config,
      JSON.stringify({
        fhir: { url: 'https://127.0.0.1:9/fhir' },
        ptp: { enabled: true, matrixFile: join(dir, 'none') },
      }),
    );
    const err = await runCommand([inputs], { config, model: modelDir, progress: false }, quiet()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/ptp\.matrixFile/);
  });
});
