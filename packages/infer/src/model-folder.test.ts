import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateModelFolder } from './demo/generate.js';
import { InvalidModelError } from './errors.js';
import { CARD_FILE, loadModelFolder, MODEL_FILE, sha256Hex } from './model-folder.js';

let root: string;
let demoDir: string;
// biome-ignore lint/suspicious/noExplicitAny: the tests write deliberately wrong card JSON
type CardJson = any;
let cardJson: CardJson;
let onnxBytes: Buffer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ecgcad-infer-folder-'));
  demoDir = join(root, 'demo');
  await generateModelFolder({ outDir: demoDir, calibrationExamples: 4 });
  cardJson = JSON.parse(await readFile(join(demoDir, CARD_FILE), 'utf8'));
  onnxBytes = await readFile(join(demoDir, MODEL_FILE));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** Writes a folder with a changed card (and optionally other model bytes) and returns the refusal. */
async function refusal(mutate: (card: CardJson) => void, bytes: Uint8Array = onnxBytes): Promise<InvalidModelError> {
  const dir = join(root, `case${n++}`);
  const card = structuredClone(cardJson);
  card.sha256 = sha256Hex(bytes);
  mutate(card);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MODEL_FILE), bytes);
  await writeFile(join(dir, CARD_FILE), JSON.stringify(card));
  const err = await loadModelFolder(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidModelError);
  return err as InvalidModelError;
}

describe('loadModelFolder', () => {
  it('loads the generated demo folder and reads its graph', async () => {
    const model = await loadModelFolder(demoDir);
    expect(model.card.id).toBe('ecgcad-demo');
    expect(model.ref).toMatchObject({
      id: 'ecgcad-demo',
      version: '1.0.0',
      clinicalUse: false,
      sha256: cardJson.sha256,
    });
    expect(model.graph.inputs).toEqual([{ name: 'ecg', elemType: 'float32', shape: ['dynamic', 12, 5000] }]);
    expect(model.graph.outputs).toEqual([{ name: 'prob', elemType: 'float32', shape: ['dynamic', 4] }]);
    expect(model.fixedBatchSize).toBeUndefined();
    expect(model.inputSize).toBe(60_000);
    expect(model.bytes.length).toBeLessThan(5e6);
  });

  it('is idempotent: a second generation leaves the folder alone', async () => {
    const again = await generateModelFolder({ outDir: demoDir, calibrationExamples: 4 });
    expect(again.written).toBe(false);
    expect(again.card.sha256).toBe(cardJson.sha256);
  });

  it('refuses a card whose input shape differs from the graph (samples)', async () => {
    const err = await refusal((c) => (c.input.samples = 2500));
    expect(err.field).toBe('input.samples');
    expect(err.message).toMatch(/\[dynamic, 12, 5000\].*\[N, 12, 2500\]/);
  });

  it('refuses a card whose lead list differs from the graph', async () => {
    const err = await refusal((c) => c.input.leads.pop());
    expect(err.field).toBe('input.leads');
    expect(err.message).toMatch(/\[N, 11, 5000\]/);
  });

  it('refuses the wrong layout', async () => {
    const err = await refusal((c) => (c.input.layout = 'NLC'));
    expect(err.field).toBe('input.samples');
  });

  it('refuses a card whose vessel count differs from the graph output', async () => {
    const err = await refusal((c) => {
      c.outputs.vessels = ['RCA', 'LM', 'LAD'];
      delete c.thresholds.LCx;
    });
    expect(err.field).toBe('outputs.vessels');
    expect(err.message).toMatch(/\[N, 3\]/);
  });

  it('refuses input and output names the graph does not have', async () => {
    expect((await refusal((c) => (c.input.name = 'x'))).field).toBe('input.name');
    expect((await refusal((c) => (c.outputs.name = 'logits'))).field).toBe('outputs.name');
  });

  it('refuses a model whose hash differs from the card', async () => {
    const tampered = Buffer.from(onnxBytes);
    tampered[tampered.length - 10] = (tampered[tampered.length - 10] as number) ^ 0xff;
    const err = await refusal((c) => (c.sha256 = cardJson.sha256), tampered);
    expect(err.field).toBe('sha256');
    expect(err.message).toMatch(/model\.onnx hashes to [0-9a-f]{64}, the card says/);
  });

  it('refuses bad thresholds', async () => {
    const err = await refusal((c) => (c.thresholds.RCA = { ruleOut: 0.6, ruleIn: 0.2 }));
    expect(err.field).toBe('thresholds.RCA.ruleOut');
  });

  it('refuses bytes that are not ONNX, a bad JSON card and a missing folder', async () => {
    expect((await refusal(() => undefined, new Uint8Array([0xff, 0xff, 0xff, 0x01]))).field).toBe('model.onnx');
    const dir = join(root, 'badjson');
    await generateModelFolder({ outDir: dir, calibrationExamples: 0 });
    await writeFile(join(dir, CARD_FILE), '{"id": ');
    await expect(loadModelFolder(dir)).rejects.toMatchObject({ field: 'model.json', code: 'INVALID_MODEL' });
    await expect(loadModelFolder(join(root, 'nowhere'))).rejects.toMatchObject({ field: 'model.json' });
  });
});
