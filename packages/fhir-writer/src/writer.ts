/**
 * FhirWriter: the stage core. prediction -> Bundle -> validation -> sink. Pure apart from the sink, so the same
 * object serves the embedded runner and the BullMQ worker (which retries on TransientError).
 */
import { ConfigError, type Prediction } from '@ecgcad/ecg';
import type { Bundle } from '@medplum/fhirtypes';
import { buildBundle, type WriterOptions } from './bundle.js';
import type { BundleSink, DeliveryResult } from './sink.js';
import { loadR4Definitions, validateBundle } from './validate.js';

/** Options of FhirWriter. */
export interface FhirWriterOptions extends WriterOptions {
  /** Where Bundles go (FhirClient or FileSink). */
  sink: BundleSink;
}

/** Builds, validates and delivers one Bundle per prediction. */
export class FhirWriter {
  private readonly sink: BundleSink;
  private readonly builderOptions: WriterOptions;

  constructor(options: FhirWriterOptions) {
    const { sink, ...builderOptions } = options;
    if (builderOptions.timeZone !== undefined) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: builderOptions.timeZone });
      } catch {
        throw new ConfigError([`fhir.timeZone: unknown IANA time zone "${builderOptions.timeZone}"`]);
      }
    }
    this.sink = sink;
    this.builderOptions = builderOptions;
    // Load the R4 definitions now (about 0.7 s) rather than on the first job.
    loadR4Definitions();
  }

  /** The validated Bundle for a prediction (FhirValidationError / PermanentError when it cannot be written). */
  bundleFor(prediction: Prediction): Bundle {
    const bundle = buildBundle(prediction, this.builderOptions);
    validateBundle(bundle);
    return bundle;
  }

  /** Build + validate + deliver. Throws TransientError (retry) or PermanentError (dead-letter). */
  async write(prediction: Prediction): Promise<DeliveryResult> {
    return this.sink.deliver(this.bundleFor(prediction));
  }
}
