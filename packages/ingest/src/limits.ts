/**
 * Size and count limits that protect a decoder from hostile or absurd input.
 * Every limit is checked before the memory it guards is allocated.
 */
import { LimitExceededError } from '@ecgcad/ecg';

export interface DecodeLimits {
  /** Largest input accepted, in bytes. Default 64 MiB (a 10 s 12-lead ECG is well under 1 MiB in any format). */
  maxBytes: number;
  /** Most channels (leads) in one DICOM multiplex group or aECG sequence set. Default 64. */
  maxChannels: number;
  /** Longest recording accepted, in seconds (samples per lead <= maxDurationS * sampleRateHz). Default 600 (10 min). */
  maxDurationS: number;
  /** Lowest sample rate accepted, in Hz. Default 1. */
  minSampleRateHz: number;
  /** Highest sample rate accepted, in Hz. Default 20000. */
  maxSampleRateHz: number;
  /** Deepest XML element nesting accepted. Default 64 (aECG files nest about 12 deep). */
  maxXmlDepth: number;
}

/** The limits used when a caller passes none. */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxChannels: 64,
  maxDurationS: 600,
  minSampleRateHz: 1,
  maxSampleRateHz: 20_000,
  maxXmlDepth: 64,
});

/** Fills the limits a caller left out with the defaults. */
export function resolveLimits(limits?: Partial<DecodeLimits>): DecodeLimits {
  return { ...DEFAULT_DECODE_LIMITS, ...limits };
}

/** Throws LimitExceededError when the input is larger than `limits.maxBytes`. */
export function checkInputSize(byteLength: number, limits: DecodeLimits): void {
  if (byteLength > limits.maxBytes) {
    throw new LimitExceededError(`input of ${byteLength} bytes exceeds the limit of ${limits.maxBytes} bytes`);
  }
}

/** Checks a sample rate, a channel count and a per-channel sample count against the limits. */
export function checkSignalShape(
  shape: { sampleRateHz: number; channels: number; samples: number },
  limits: DecodeLimits,
): void {
  const { sampleRateHz, channels, samples } = shape;
  if (
    !Number.isFinite(sampleRateHz) ||
    sampleRateHz < limits.minSampleRateHz ||
    sampleRateHz > limits.maxSampleRateHz
  ) {
    throw new LimitExceededError(
      `sample rate ${sampleRateHz} Hz is outside ${limits.minSampleRateHz}..${limits.maxSampleRateHz} Hz`,
    );
  }
  if (channels > limits.maxChannels) {
    throw new LimitExceededError(`${channels} channels exceed the limit of ${limits.maxChannels}`);
  }
  const maxSamples = Math.floor(limits.maxDurationS * sampleRateHz);
  if (samples > maxSamples) {
    throw new LimitExceededError(
      `${samples} samples per channel exceed ${limits.maxDurationS} s at ${sampleRateHz} Hz (${maxSamples} samples)`,
    );
  }
}
