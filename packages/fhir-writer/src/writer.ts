/**
 * FhirWriter: the stage core. prediction -> (PTP inputs read from the EHR) -> Bundle -> validation -> sink.
 * Pure apart from the sink and the EHR reads, so the same object serves the embedded runner and the BullMQ worker
 * (which retries on TransientError).
 */
import type { PtpLevel, ReclassificationMatrix } from '@ecgcad/clinical';
import { ConfigError, type Prediction } from '@ecgcad/ecg';
import type { Bundle } from '@medplum/fhirtypes';
import { buildBundle, fhirDateTime, patientIdentifier, type WaveformInput, type WriterOptions } from './bundle.js';
import { assessPtp, type PtpAssessment, type ReportedPtpModel } from './ptp.js';
import { DEFAULT_PTP_INPUT_OPTIONS, derivePtpInputs, type PtpInputOptions, type PtpSources } from './ptp-inputs.js';
import { type FhirSearcher, readPtpSources } from './ptp-reader.js';
import type { BundleSink, DeliveryResult } from './sink.js';
import { loadR4Definitions, type ValidationMode, validateBundle } from './validate.js';

/** Pre-test probability in live operation: where to read its inputs and how to combine it with the AI strata. */
export interface PtpWriterOptions {
  /** The EHR to read from (the FhirClient that also receives the Bundles). */
  searcher: FhirSearcher;
  /** The model the Bundle reports. Default `esc2024` (RF-CL). */
  model?: ReportedPtpModel;
  /** PTP level x AI stratum -> combined category. Default: the shipped matrix on `model`. */
  matrix?: ReclassificationMatrix;
  /** Codes and rules of the input reader. Default DEFAULT_PTP_INPUT_OPTIONS. */
  inputs?: PtpInputOptions;
}

/** Options of FhirWriter. */
export interface FhirWriterOptions extends WriterOptions {
  /** Where Bundles go (FhirClient or FileSink). */
  sink: BundleSink;
  /** When set, scored predictions carry the pre-test probability and the combined category per vessel. */
  ptp?: PtpWriterOptions;
  /** R4 validation before delivery: `fast` (default, same verdicts as `full`) or `full` (see validate.ts). */
  validation?: ValidationMode;
}

/** A delivery, plus what happened to the PTP (input names only: no patient data). */
export interface WriteResult extends DeliveryResult {
  /** `level`: the PTP on the matrix's three-level scale, when computed (for the category-mix metric). */
  ptp?: { status: 'computed' | 'not-computed'; level?: PtpLevel; missing?: string[] };
}

const NO_SOURCES: PtpSources = {
  conditions: [],
  observations: [],
  familyHistory: [],
  serviceRequests: [],
  encounters: [],
};

/** Builds, validates and delivers one Bundle per prediction. */
export class FhirWriter {
  private readonly sink: BundleSink;
  private readonly builderOptions: WriterOptions;
  private readonly ptp: PtpWriterOptions | undefined;
  /** True when the ECG Observation carries the leads (option `waveform`, default true). */
  readonly waveform: boolean;
  private readonly validation: ValidationMode;

  constructor(options: FhirWriterOptions) {
    const { sink, ptp, validation, ...builderOptions } = options;
    if (builderOptions.timeZone !== undefined) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: builderOptions.timeZone });
      } catch {
        throw new ConfigError([`fhir.timeZone: unknown IANA time zone "${builderOptions.timeZone}"`]);
      }
    }
    this.sink = sink;
    this.builderOptions = builderOptions;
    this.ptp = ptp;
    this.waveform = builderOptions.waveform ?? true;
    this.validation = validation ?? 'fast';
    // Load the R4 definitions now (about 0.7 s) rather than on the first job.
    loadR4Definitions();
  }

  /**
   * The validated Bundle for a prediction (FhirValidationError / PermanentError when it cannot be written).
   * `waveform`: the ECG's samples for the ECG Observation (ignored when the option is off).
   */
  bundleFor(prediction: Prediction, ptp?: PtpAssessment, waveform?: WaveformInput): Bundle {
    const bundle = buildBundle(prediction, this.builderOptions, ptp, waveform);
    validateBundle(bundle, { mode: this.validation });
    return bundle;
  }

  /**
   * The PTP of a scored prediction, read from the EHR now; undefined when PTP is off or the ECG was not scored.
   * EHR faults propagate: TransientError (retry the job) or PermanentError (a 4xx on a search).
   */
  async assessPtp(prediction: Prediction): Promise<PtpAssessment | undefined> {
    if (!this.ptp || prediction.status !== 'scored') return undefined;
    const inputs = this.ptp.inputs ?? DEFAULT_PTP_INPUT_OPTIONS;
    // The placeholder subject of an unidentified ECG is no patient in the EHR: nothing to read.
    const identifier = patientIdentifier(prediction.ecg, this.builderOptions.patient ?? {});
    const sources = identifier ? await readPtpSources(this.ptp.searcher, identifier, inputs) : NO_SOURCES;
    const acquiredAt = fhirDateTime(prediction.ecg.acquiredAt, this.builderOptions.timeZone);
    const derived = derivePtpInputs(sources, acquiredAt, inputs);
    return assessPtp(derived, prediction.vessels, {
      ...(this.ptp.model ? { model: this.ptp.model } : {}),
      ...(this.ptp.matrix ? { matrix: this.ptp.matrix } : {}),
    });
  }

  /**
   * (Read PTP inputs +) build + validate + deliver. Throws TransientError (retry) or PermanentError (dead-letter).
   * `waveform`: the decoded ECG (embedded mode) or, in queued mode, why its payload could not be read; without it
   * the ECG Observation carries no leads.
   */
  async write(prediction: Prediction, waveform?: WaveformInput): Promise<WriteResult> {
    const ptp = await this.assessPtp(prediction);
    const delivery = await this.sink.deliver(this.bundleFor(prediction, ptp, waveform));
    if (!ptp) return delivery;
    return {
      ...delivery,
      ptp:
        ptp.status === 'computed'
          ? { status: 'computed', level: ptp.value.level }
          : { status: 'not-computed', missing: ptp.missing.map((m) => m.input) },
    };
  }
}
