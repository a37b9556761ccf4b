/**
 * Shadow mode from the configuration (`model.shadow`): loads the shadow model folder next to the live Predictor
 * and returns the ShadowScorer the infer stage uses, recording every pair to the metrics and the shadow store.
 * Faults of the shadow are counted and logged (step and error code only: no ECG id, no patient data).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, EcgcadError } from '@ecgcad/ecg';
import { createPredictor, type InferLogger, modelTag, type Predictor, ShadowScorer } from '@ecgcad/infer';
import type { EngineConfig } from './config.js';
import type { ShadowMetrics } from './shadow-metrics.js';
import { pairName, type ShadowStore } from './shadow-store.js';

/** The settings of `model.shadow`. */
export type ShadowSettings = NonNullable<EngineConfig['model']['shadow']>;

/** The embedded mode's shadow file: `model.shadow.file`, or `<out>/shadow-results.jsonl`. */
export function shadowFileOf(config: EngineConfig): string {
  return config.model.shadow?.file ?? join(config.out, 'shadow-results.jsonl');
}

/** Loads the shadow model with the live model's session and batching settings (one instance). */
export async function shadowPredictorFromConfig(config: EngineConfig, logger?: InferLogger): Promise<Predictor> {
  const settings = config.model.shadow;
  if (!settings) throw new ConfigError(['model.shadow: not set']);
  if (!existsSync(settings.dir)) throw new ConfigError([`model.shadow.dir: no model folder at ${settings.dir}`]);
  return createPredictor(settings.dir, {
    session: {
      executionProviders: config.model.providers,
      instances: 1,
      ...(config.model.threads === undefined ? {} : { intraOpNumThreads: config.model.threads }),
    },
    batching: { maxBatch: config.model.maxBatch, maxDelayMs: config.model.maxDelayMs },
    ...(logger ? { logger } : {}),
  });
}

/** Options of {@link startShadow}. */
export interface StartShadowOptions {
  config: EngineConfig;
  live: Predictor;
  /** The store for this model pair (from {@link shadowPairOf}). */
  store: (pair: string) => ShadowStore;
  metrics: ShadowMetrics;
  /** pino or anything with info / warn (fields, message). */
  logger: InferLogger;
}

/** The name of the live/shadow pair whose records the store keeps. */
export function shadowPairOf(live: Predictor, shadow: Predictor): string {
  return pairName(modelTag(live.model.ref), modelTag(shadow.model.ref));
}

/** Loads the shadow model and returns the scorer, or undefined when `model.shadow` is not set. */
export async function startShadow(options: StartShadowOptions): Promise<ShadowScorer | undefined> {
  const { config, live, metrics, logger } = options;
  const settings = config.model.shadow;
  if (!settings) return undefined;
  const shadow = await shadowPredictorFromConfig(config, {
    info: (fields, msg) => logger.info({ ...fields, shadow: true }, msg),
    warn: (fields, msg) => logger.warn({ ...fields, shadow: true }, msg),
  });
  const store = options.store(shadowPairOf(live, shadow));
  const scorer = new ShadowScorer({
    live,
    shadow,
    fraction: settings.fraction,
    onScored: async (record) => {
      metrics.observe(record);
      await store.append(record);
    },
    onFailure: (step, err) => {
      metrics.failed(step);
      // EcgcadError messages are patient-free by contract; anything else is named by its class only.
      const error =
        err instanceof EcgcadError ? `${err.code}: ${err.message}` : err instanceof Error ? err.name : 'error';
      logger.warn({ shadow: true, step, error }, 'shadow model fault (the live result is unaffected)');
    },
  });
  logger.info(
    {
      live: modelTag(live.model.ref),
      shadow: modelTag(shadow.model.ref),
      fraction: settings.fraction,
      sharesInput: scorer.sharesInput,
    },
    'shadow mode: the shadow model scores alongside the live one; only live results are written',
  );
  return scorer;
}
