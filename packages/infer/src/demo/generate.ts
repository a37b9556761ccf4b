/**
 * Writes a generated Net1D model folder (model.onnx + model.json). The demo folder is a build output: the build
 * regenerates it only when the generator stamp in its card or the model's hash no longer matches.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_INPUT_SPEC, type Vessel } from '@ecgcad/ecg';
import type { ModelCard } from '../card.js';
import { CARD_FILE, MODEL_FILE, sha256Hex } from '../model-folder.js';
import { NET1D_CONFIGS, type Net1dConfig } from '../net1d/config.js';
import { buildNet1d, countFlops, countParameters, type Net1dNetwork } from '../net1d/network.js';
import { exportNet1dOnnx } from '../net1d/onnx-export.js';
import { calibrateHead } from '../net1d/reference.js';
import { syntheticModelInput } from '../net1d/synthetic.js';

/** Bump when the generated graph or weights change, so existing folders are regenerated. */
export const GENERATOR_VERSION = 1;

/** Seed of the generated demo weights. */
export const DEMO_SEED = 20251205;

/** Synthetic ECGs used to calibrate the head of a generated model: 32 for the demo, 4 for larger configs. */
export function defaultCalibrationExamples(config: Net1dConfig): number {
  return config.name === 'demo' ? 32 : 4;
}

/** Illustrative thresholds of the demo card (a site derives its own from a labelled local cohort). */
export const DEMO_THRESHOLDS: Record<Vessel, { ruleOut: number; ruleIn: number }> = {
  RCA: { ruleOut: 0.15, ruleIn: 0.4 },
  LM: { ruleOut: 0.08, ruleIn: 0.3 },
  LAD: { ruleOut: 0.12, ruleIn: 0.41 },
  LCx: { ruleOut: 0.1, ruleIn: 0.35 },
};

const VESSEL_ORDER: Vessel[] = ['RCA', 'LM', 'LAD', 'LCx'];

/** Options for generateModelFolder(). */
export interface GenerateOptions {
  /** `demo` (default) or `full`, or a custom config. */
  config?: string | Net1dConfig;
  /** Weight seed. Default DEMO_SEED. */
  seed?: number;
  /** Folder to write. */
  outDir: string;
  /** Write float16 weights (float32 input and output). Default false. */
  float16?: boolean;
  /** Regenerate even when the folder is up to date. Default false. */
  force?: boolean;
  /** Synthetic ECGs used to calibrate the head (default defaultCalibrationExamples(config); 0 to skip). */
  calibrationExamples?: number;
}

/** What generateModelFolder() did. */
export interface GenerateResult {
  outDir: string;
  card: ModelCard;
  /** False when the folder was already up to date. */
  written: boolean;
  parameters: number;
  flopsPerEcg: number;
  bytes: number;
}

interface GeneratorStamp {
  generatorVersion: number;
  config: Net1dConfig;
  seed: number;
  float16: boolean;
  calibrationExamples: number;
}

/** Builds the network a stamp describes (also used by tests to get the weights behind a generated folder). */
export function buildStampedNetwork(stamp: Omit<GeneratorStamp, 'generatorVersion' | 'float16'>): Net1dNetwork {
  const { config, seed, calibrationExamples } = stamp;
  const net = buildNet1d(config, { seed });
  if (calibrationExamples > 0) {
    const examples = Array.from({ length: calibrationExamples }, (_, i) =>
      syntheticModelInput(seed + 1000 + i, config.inChannels, config.samples),
    );
    // Centre each vessel's logits between its thresholds, so outputs spread over low, intermediate and high.
    const means = VESSEL_ORDER.map((v) => {
      const t = DEMO_THRESHOLDS[v];
      const p = (t.ruleOut + t.ruleIn) / 2;
      return Math.log(p / (1 - p));
    });
    calibrateHead(net, examples, means, 1);
  }
  return net;
}

/** The card of a generated model. */
export function generatedCard(config: Net1dConfig, sha256: string, float16: boolean): ModelCard {
  const id = config.name === 'demo' ? 'ecgcad-demo' : `ecgcad-net1d-${config.name}`;
  return {
    id,
    version: float16 ? '1.0.0+fp16' : '1.0.0',
    clinicalUse: false,
    intendedUse: 'Demonstration weights. Outputs carry no clinical meaning.',
    outcome: 'Severe stenosis (>= 70 %) or occlusion on coronary CT angiography',
    input: { ...DEFAULT_INPUT_SPEC, leads: [...DEFAULT_INPUT_SPEC.leads], samples: config.samples },
    outputs: { name: 'prob', vessels: VESSEL_ORDER },
    thresholds: Object.fromEntries(
      VESSEL_ORDER.map((v) => [v, { ...DEMO_THRESHOLDS[v], ruleOutSensitivity: 0.9, ruleInSpecificity: 0.9 }]),
    ),
    sha256,
  };
}

/** Generates (or confirms up to date) a model folder. */
export async function generateModelFolder(options: GenerateOptions): Promise<GenerateResult> {
  const configOption = options.config ?? 'demo';
  const config = typeof configOption === 'string' ? NET1D_CONFIGS[configOption] : configOption;
  if (!config)
    throw new RangeError(`unknown config "${String(configOption)}" (known: ${Object.keys(NET1D_CONFIGS).join(', ')})`);
  const stamp: GeneratorStamp = {
    generatorVersion: GENERATOR_VERSION,
    config,
    seed: options.seed ?? DEMO_SEED,
    float16: options.float16 ?? false,
    calibrationExamples: options.calibrationExamples ?? defaultCalibrationExamples(config),
  };
  const cardPath = join(options.outDir, CARD_FILE);
  const modelPath = join(options.outDir, MODEL_FILE);

  if (!options.force) {
    const existing = await readUpToDate(cardPath, modelPath, stamp);
    if (existing) return { outDir: options.outDir, ...existing, written: false };
  }
  const net = buildStampedNetwork(stamp);
  const bytes = exportNet1dOnnx(net, {
    float16: stamp.float16,
    docString: `Net1D (${config.name}) with seeded demonstration weights. No clinical meaning.`,
  });
  const card = generatedCard(config, sha256Hex(bytes), stamp.float16);
  await mkdir(options.outDir, { recursive: true });
  // Write the model first and the card last (each via rename), so a half-written folder never looks up to date.
  await writeFile(`${modelPath}.tmp`, bytes);
  await rename(`${modelPath}.tmp`, modelPath);
  await writeFile(`${cardPath}.tmp`, `${JSON.stringify({ ...card, generator: stamp }, null, 2)}\n`);
  await rename(`${cardPath}.tmp`, cardPath);
  return {
    outDir: options.outDir,
    card,
    written: true,
    parameters: countParameters(net),
    flopsPerEcg: countFlops(net),
    bytes: bytes.length,
  };
}

async function readUpToDate(
  cardPath: string,
  modelPath: string,
  stamp: GeneratorStamp,
): Promise<Omit<GenerateResult, 'outDir' | 'written'> | undefined> {
  try {
    const json = JSON.parse(await readFile(cardPath, 'utf8')) as ModelCard & { generator?: GeneratorStamp };
    if (JSON.stringify(json.generator) !== JSON.stringify(stamp)) return undefined;
    const bytes = await readFile(modelPath);
    if (sha256Hex(bytes) !== json.sha256) return undefined;
    const net = buildNet1d(stamp.config, { seed: stamp.seed });
    return { card: json, parameters: countParameters(net), flopsPerEcg: countFlops(net), bytes: bytes.length };
  } catch {
    return undefined;
  }
}
