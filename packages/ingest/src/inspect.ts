/**
 * A compact, JSON-friendly summary of one ECG file, for `ecgcad inspect` and for checks that compare decoders
 * against facts established by independent tools.
 */
import {
  assessQuality,
  DEFAULT_INPUT_SPEC,
  durationS,
  type EcgFormat,
  type ModelInputSpec,
  STANDARD_LEADS,
} from '@ecgcad/ecg';
import { decodeEcg } from './decode.js';
import type { DecodeLimits } from './limits.js';

/** One stored lead: its sample count and first three values in microvolts at the source rate. */
export interface InspectLead {
  samples: number;
  firstUv: number[];
}

/** What `inspectEcg` reports. Leads are those stored in the file; derived leads are not listed. */
export interface InspectReport {
  format: EcgFormat;
  id: string;
  sampleRateHz: number;
  durationS: number;
  leads: Record<string, InspectLead>;
  quality: { analysable: boolean; reasons: string[] };
}

/**
 * Decodes `bytes` and summarises them. Throws the typed errors of decodeEcg. `firstUv` values are rounded to
 * 6 significant digits so float32 noise (58.560001373) does not leak into the report.
 */
export function inspectEcg(
  bytes: Uint8Array,
  spec: ModelInputSpec = DEFAULT_INPUT_SPEC,
  limits?: Partial<DecodeLimits>,
): InspectReport {
  const ecg = decodeEcg(bytes, { feed: 'inspect', receivedAt: new Date(0).toISOString() }, limits);
  const leads: Record<string, InspectLead> = {};
  for (const name of STANDARD_LEADS) {
    const samples = ecg.leads[name];
    if (!samples) continue;
    leads[name] = { samples: samples.length, firstUv: Array.from(samples.subarray(0, 3), round6) };
  }
  const quality = assessQuality(ecg, spec);
  return {
    format: ecg.source.format,
    id: ecg.id,
    sampleRateHz: ecg.sampleRateHz,
    durationS: durationS(ecg),
    leads,
    quality: { analysable: quality.analysable, reasons: [...quality.reasons] },
  };
}

function round6(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}
