/**
 * Builds the stage cores from the configuration: the Predictor (model folder + ONNX session + batcher) and the
 * FhirWriter (FhirClient to the EHR, or FileSink to a folder). Used by embedded and queued mode alike.
 */

import { existsSync, readFileSync } from 'node:fs';
import {
  defaultReclassification,
  parseReclassificationMatrix,
  type ReclassificationMatrix,
  ReclassificationMatrixError,
} from '@ecgcad/clinical';
import { ConfigError } from '@ecgcad/ecg';
import {
  type BundleSink,
  FhirClient,
  FhirWriter,
  FileSink,
  PTP_READ_SCOPES,
  type PtpInputOptions,
  type PtpWriterOptions,
  type WriterOptions,
} from '@ecgcad/fhir-writer';
import { createPredictor, type InferLogger, type Predictor } from '@ecgcad/infer';
import type { EngineConfig } from './config.js';
import { fhirAuthFromConfig } from './fhir-auth.js';

/** Loads the model and opens its session. ConfigError when the folder is missing (with the fix). */
export async function predictorFromConfig(config: EngineConfig, logger?: InferLogger): Promise<Predictor> {
  if (!existsSync(config.model.dir)) {
    throw new ConfigError([
      `model.dir: no model folder at ${config.model.dir} (run \`npm run build\` to generate the demo model, or set ECGCAD_MODEL_DIR)`,
    ]);
  }
  return createPredictor(config.model.dir, {
    session: {
      executionProviders: config.model.providers,
      instances: config.model.instances,
      ...(config.model.threads === undefined ? {} : { intraOpNumThreads: config.model.threads }),
    },
    batching: { maxBatch: config.model.maxBatch, maxDelayMs: config.model.maxDelayMs },
    attribution: config.attribution,
    ...(logger ? { logger } : {}),
  });
}

/** The sink the configuration names: the EHR when `fhir.url` is set, else Bundle files under `out`. */
export function sinkFromConfig(config: EngineConfig): BundleSink {
  if (config.fhir.url) {
    return new FhirClient({
      baseUrl: config.fhir.url,
      timeoutMs: config.fhir.timeoutMs,
      auth: fhirAuthFromConfig(config.fhir, config.ptp.enabled ? { extraScopes: PTP_READ_SCOPES } : {}),
    });
  }
  return new FileSink({ dir: config.out });
}

/** The FhirWriter. Unidentified patients default to `placeholder` for files and `refuse` for an EHR. */
export function writerFromConfig(config: EngineConfig, sink: BundleSink = sinkFromConfig(config)): FhirWriter {
  const whenMissing = config.fhir.unidentified ?? (config.fhir.url ? 'refuse' : 'placeholder');
  const options: WriterOptions = {
    patient: {
      whenMissing,
      reference: config.fhir.patientReference,
      ...(config.fhir.patientSystem ? { system: config.fhir.patientSystem } : {}),
    },
    ...(config.fhir.timeZone ? { timeZone: config.fhir.timeZone } : {}),
    waveform: config.fhir.waveform,
  };
  return new FhirWriter({
    sink,
    ...options,
    validation: config.fhir.validation,
    ...(config.ptp.enabled ? { ptp: ptpFromConfig(config, sink) } : {}),
  });
}

/** The PTP options of the writer: the EHR client reads, the matrix file is read and checked now. */
export function ptpFromConfig(config: EngineConfig, sink: BundleSink): PtpWriterOptions {
  if (!(sink instanceof FhirClient)) {
    throw new ConfigError(['ptp.enabled: needs fhir.url (the pre-test probability reads its inputs from the EHR)']);
  }
  const { enabled: _e, model, matrixFile, problemListAuthoritative, ...rest } = config.ptp;
  const inputs: PtpInputOptions = { ...rest, problemListAuthoritative };
  return { searcher: sink, model, matrix: readMatrix(matrixFile) ?? defaultReclassification(model), inputs };
}

function readMatrix(file: string | undefined): ReclassificationMatrix | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError([`ptp.matrixFile: cannot read ${file}`]);
  }
  try {
    return parseReclassificationMatrix(text);
  } catch (err) {
    if (err instanceof ReclassificationMatrixError) throw new ConfigError([`ptp.matrixFile: ${err.message}`]);
    throw err;
  }
}
