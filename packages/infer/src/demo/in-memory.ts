/**
 * The demo model built in memory, with no files: the weights (for the float64 reference) and a checked
 * LoadedModel (for sessions). Tests and embedded tools use it; deployments load a model folder.
 */
import { checkModel, type LoadedModel, sha256Hex } from '../model-folder.js';
import { DEMO_CONFIG, type Net1dConfig } from '../net1d/config.js';
import type { Net1dNetwork } from '../net1d/network.js';
import { exportNet1dOnnx } from '../net1d/onnx-export.js';
import { buildStampedNetwork, DEMO_SEED, generatedCard } from './generate.js';

/** Options for buildModelInMemory(). */
export interface InMemoryModelOptions {
  /** Default the demo config. */
  config?: Net1dConfig;
  /** Default 20251205, as the generated demo folder. */
  seed?: number;
  /** Synthetic ECGs for calibrating the head; default 8 (the folder uses 32). */
  calibrationExamples?: number;
  float16?: boolean;
}

/** A generated model and the network behind it. */
export interface InMemoryModel {
  net: Net1dNetwork;
  model: LoadedModel;
}

/** Builds, exports and checks a generated model without touching the disk. */
export function buildModelInMemory(options: InMemoryModelOptions = {}): InMemoryModel {
  const config = options.config ?? DEMO_CONFIG;
  const net = buildStampedNetwork({
    config,
    seed: options.seed ?? DEMO_SEED,
    calibrationExamples: options.calibrationExamples ?? 8,
  });
  const float16 = options.float16 ?? false;
  const bytes = exportNet1dOnnx(net, { float16 });
  const model = checkModel('(in memory)', generatedCard(config, sha256Hex(bytes), float16), bytes);
  return { net, model };
}
