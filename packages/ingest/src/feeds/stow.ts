/**
 * DICOMweb STOW-RS (PS3.18 10.5): one multipart/related request, many instances, one Store Instances Response.
 * Pure here: the route in http-feeds.ts parses the body and calls {@link storeInstances}.
 */
import { MalformedInputError } from '@ecgcad/ecg';
import { parseDataset } from '../dicom/dataset.js';
import { encodingOfTransferSyntax, isDicomPart10, type Part10Meta, readPart10Meta } from '../dicom/part10.js';
import { isEcgWaveformSopClass } from '../dicom/sop-classes.js';
import type { FeedCommonOptions } from './intake.js';
import { handOver } from './intake.js';
import type { MultipartPart } from './multipart.js';
import { parseMediaType } from './multipart.js';

/** FailureReason (0008,1197) values used in STOW-RS responses (PS3.18 Annex I, PS3.4 B.2.3). */
export const FailureReason = {
  ProcessingFailure: 0x0110,
  SopClassNotSupported: 0x0122,
  OutOfResources: 0xa700,
  DataSetDoesNotMatchSopClass: 0xa900,
  CannotUnderstand: 0xc000,
} as const;

/** The outcome of one part. */
export interface StowInstanceResult {
  sopClassUid?: string;
  sopInstanceUid?: string;
  /** Set when stored. */
  ecgId?: string;
  /** Set when not stored. */
  failureReason?: number;
  /** Patient-free reason text (also sent in a Warning header). */
  reason?: string;
  /** True when the failure is transient (the sender should retry). */
  transient?: boolean;
}

/** The whole response: HTTP status, the PS3.18 JSON body, and warning texts. */
export interface StowResponse {
  status: 200 | 202 | 409 | 503;
  body: Record<string, unknown>;
  results: StowInstanceResult[];
  /** Milliseconds the sender should wait before retrying, when status is 503. */
  retryAfterMs?: number;
}

/**
 * Hands each part to the intake, in order, and builds the response.
 * 200: all stored; 202: some stored, some failed; 409: none stored; 503: none stored and every failure transient.
 */
export async function storeInstances(
  parts: readonly MultipartPart[],
  context: {
    expectedStudyUid?: string;
    receivedAt: string;
    remote?: string;
    principal?: string;
    sender?: string;
    rootType: string;
  },
  options: FeedCommonOptions,
): Promise<StowResponse> {
  const results: StowInstanceResult[] = [];
  let retryAfterMs: number | undefined;
  for (const part of parts) {
    const result = await storeOne(part, context, options);
    if (result.result.transient && result.retryAfterMs !== undefined) {
      retryAfterMs = Math.max(retryAfterMs ?? 0, result.retryAfterMs);
    }
    results.push(result.result);
  }
  const stored = results.filter((r) => r.ecgId !== undefined);
  const failed = results.filter((r) => r.ecgId === undefined);
  let status: StowResponse['status'];
  if (failed.length === 0) status = 200;
  else if (stored.length > 0) status = 202;
  else if (failed.every((r) => r.transient)) status = 503;
  else status = 409;
  return {
    status,
    body: responseDataset(stored, failed),
    results,
    ...(status === 503 && retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

async function storeOne(
  part: MultipartPart,
  context: {
    expectedStudyUid?: string;
    receivedAt: string;
    remote?: string;
    principal?: string;
    sender?: string;
    rootType: string;
  },
  options: FeedCommonOptions,
): Promise<{ result: StowInstanceResult; retryAfterMs?: number }> {
  const partType = parseMediaType(part.headers['content-type'] ?? context.rootType)?.type;
  if (partType !== 'application/dicom') {
    return { result: { failureReason: FailureReason.CannotUnderstand, reason: 'part is not application/dicom' } };
  }
  const meta = part10Meta(part.body);
  // The dataset's own UIDs name the instance; the meta header's copies can disagree (seen in real files).
  const dataset = meta ? datasetIds(part.body, meta) : undefined;
  const sopClassUid = dataset?.sopClassUid ?? validUid(meta?.sopClassUid);
  const sopInstanceUid = dataset?.sopInstanceUid ?? validUid(meta?.sopInstanceUid);
  const ids = {
    ...(sopClassUid ? { sopClassUid } : {}),
    ...(sopInstanceUid ? { sopInstanceUid } : {}),
  };
  if (sopClassUid && !isEcgWaveformSopClass(sopClassUid)) {
    // Like a rejected presentation context in DIMSE: not ours to keep, so not kept in the rejected store.
    return {
      result: {
        ...ids,
        failureReason: FailureReason.SopClassNotSupported,
        reason: 'SOP class is not an ECG waveform class',
      },
    };
  }
  if (meta && context.expectedStudyUid !== undefined && dataset?.studyInstanceUid !== context.expectedStudyUid) {
    return {
      result: {
        ...ids,
        failureReason: FailureReason.DataSetDoesNotMatchSopClass,
        reason: 'Study Instance UID does not match the request URL',
      },
    };
  }
  const location = part.headers['content-location'];
  const outcome = await handOver(
    part.body,
    {
      feed: 'stow',
      receivedAt: context.receivedAt,
      contentType: 'application/dicom',
      ...(location ? { name: location.slice(0, 256) } : {}),
      ...(context.remote ? { remote: context.remote } : {}),
      ...(context.principal ? { principal: context.principal } : {}),
      ...(context.sender ? { sender: context.sender } : {}),
    },
    options,
  );
  if (outcome.outcome === 'accepted') return { result: { ...ids, ecgId: outcome.receipt.ecgId } };
  if (outcome.outcome === 'retry') {
    return {
      result: { ...ids, failureReason: FailureReason.OutOfResources, reason: outcome.reason, transient: true },
      ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
    };
  }
  const failureReason =
    outcome.code === 'UNSUPPORTED_FORMAT' ? FailureReason.DataSetDoesNotMatchSopClass : FailureReason.CannotUnderstand;
  return { result: { ...ids, failureReason, reason: outcome.reason } };
}

/** The meta header of Part 10 bytes; undefined when they are not Part 10 or the header is broken. */
function part10Meta(bytes: Uint8Array): Part10Meta | undefined {
  if (!isDicomPart10(bytes)) return undefined;
  try {
    return readPart10Meta(bytes);
  } catch (err) {
    if (err instanceof MalformedInputError) return undefined;
    throw err;
  }
}

/** A UID is at most 64 chars of digits and dots; anything else is dropped rather than echoed back. */
function validUid(value: string | undefined): string | undefined {
  return value && /^[0-9.]{1,64}$/.test(value) ? value : undefined;
}

/** The last element read for the response: Study Instance UID (elements come in tag order). */
const AFTER_STUDY_UID = 0x0020000e;

/**
 * SOP Class, SOP Instance and Study Instance UIDs from the dataset; undefined when it cannot be read. Only the
 * elements up to the Study Instance UID are read. Syntaxes the decoder refuses are read as explicit VR little endian
 * (all the compressed ones are) so that the response names the instance; deflated data sets cannot be read.
 */
function datasetIds(
  bytes: Uint8Array,
  meta: Part10Meta,
): { sopClassUid?: string; sopInstanceUid?: string; studyInstanceUid?: string } | undefined {
  const syntax = meta.transferSyntaxUid;
  if (syntax === undefined || syntax === DEFLATED_EXPLICIT_LITTLE) return undefined;
  const encoding = encodingOfTransferSyntax(syntax) ?? { littleEndian: true, explicitVr: true };
  try {
    const dataset = parseDataset(bytes, meta.datasetStart, bytes.length, encoding, { stopAtTag: AFTER_STUDY_UID });
    const sopClassUid = validUid(dataset.string(0x00080016));
    const sopInstanceUid = validUid(dataset.string(0x00080018));
    const studyInstanceUid = validUid(dataset.string(0x0020000d));
    return {
      ...(sopClassUid ? { sopClassUid } : {}),
      ...(sopInstanceUid ? { sopInstanceUid } : {}),
      ...(studyInstanceUid ? { studyInstanceUid } : {}),
    };
  } catch (err) {
    if (err instanceof MalformedInputError) return undefined;
    throw err;
  }
}

const DEFLATED_EXPLICIT_LITTLE = '1.2.840.10008.1.2.1.99';

/** The Store Instances Response Module in the DICOM JSON model (PS3.18 F.2). */
function responseDataset(stored: StowInstanceResult[], failed: StowInstanceResult[]): Record<string, unknown> {
  const ui = (value: string | undefined) => (value === undefined ? { vr: 'UI' } : { vr: 'UI', Value: [value] });
  const body: Record<string, unknown> = {};
  if (failed.length > 0) {
    body['00081198'] = {
      vr: 'SQ',
      Value: failed.map((r) => ({
        '00081150': ui(r.sopClassUid),
        '00081155': ui(r.sopInstanceUid),
        '00081197': { vr: 'US', Value: [r.failureReason ?? FailureReason.ProcessingFailure] },
      })),
    };
  }
  if (stored.length > 0) {
    body['00081199'] = {
      vr: 'SQ',
      Value: stored.map((r) => ({ '00081150': ui(r.sopClassUid), '00081155': ui(r.sopInstanceUid) })),
    };
  }
  return body;
}
