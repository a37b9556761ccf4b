/**
 * DICOM C-STORE SCP for ECG waveform SOP classes (dcmjs-dimse on a node:net server we own, so we choose the bind
 * address, set TCP_NODELAY on every socket and can close cleanly).
 * A C-STORE is answered Success only after the intake resolved; refusals get a failure status whose ErrorComment
 * tells the sender why, and a transient intake failure gets 0xA700 so the sender retries.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { Writable as WritableStream } from 'node:stream';
import { ConfigError, type EcgcadError, LimitExceededError, UnsupportedFormatError } from '@ecgcad/ecg';
import dimse from 'dcmjs-dimse';
import type { FeedCommonOptions, IntakeMeta } from './intake.js';
import { handOver, silentLogger } from './intake.js';
import { writePart10 } from './part10.js';
import { PduGuard } from './pdu-guard.js';
import { isEcgWaveformSopClass } from './sop-classes.js';

const { Dataset, Scp, log: dimseLog } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { PresentationContextResult, RejectReason, RejectResult, RejectSource, SopClass, Status, TransferSyntax } =
  dimse.constants;

type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type Association = InstanceType<typeof dimse.association.Association>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;
type CStoreResponseT = InstanceType<typeof CStoreResponse>;
type CEchoResponseT = InstanceType<typeof CEchoResponse>;
type DatasetT = InstanceType<typeof Dataset>;

/** DIMSE status codes the SCP answers with (PS3.4 Annex B.2.3, PS3.7 Annex C). */
export const CStoreStatus = {
  Success: 0x0000,
  /** Refused: Out of Resources. Sent for transient faults: the sender should retry later. */
  OutOfResources: 0xa700,
  /** Error: Data Set does not match SOP Class. Sent when the bytes are not an ECG the engine decodes. */
  DataSetDoesNotMatchSopClass: 0xa900,
  /** Error: Cannot understand. Sent for malformed, over-limit or unanalysable ECGs. */
  CannotUnderstand: 0xc000,
  /** Refused: SOP Class not supported. */
  SopClassNotSupported: 0x0122,
} as const;

/** Options of {@link startDimseFeed}. */
export interface DimseFeedOptions extends FeedCommonOptions {
  /** Our AE title (called AE). Associations calling another AE title are rejected unless `acceptAnyCalledAe`. */
  aeTitle: string;
  /** TCP port; 0 picks a free one (read it from the returned feed). */
  port: number;
  /** Bind address. Default `0.0.0.0`. */
  host?: string;
  /** Largest PDU we receive, in bytes. Default 65536 (dcmtk's storescu sends up to what we announce). */
  maxPduLength?: number;
  /** Accept any calling AE title. Default: true unless `allowedCallingAeTitles` is given. */
  acceptAnyCallingAe?: boolean;
  /** Calling AE titles allowed to associate (exact, trailing spaces ignored). */
  allowedCallingAeTitles?: string[];
  /** Accept associations whatever called AE title they name. Default false. */
  acceptAnyCalledAe?: boolean;
  /** Largest dataset we take, in bytes; bigger ones get 0xC000 (and are not kept). Default 64 MiB. */
  maxDatasetBytes?: number;
  /** Concurrent connections; more are closed at once. Default 64. */
  maxConnections?: number;
  /** Milliseconds without a PDU before the association is aborted. Default 60 000 (dcmjs-dimse's default). */
  pduTimeoutMs?: number;
  /** Log level of dcmjs-dimse's own logger (it logs AE titles and UIDs, never datasets). Default `silent`. */
  libraryLogLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

/** A running C-STORE SCP. */
export interface DimseFeed {
  /** The port actually bound. */
  readonly port: number;
  readonly host: string;
  /** Stops listening and closes open associations. */
  close(): Promise<void>;
}

/** Starts the C-STORE SCP; resolves once it listens. */
export async function startDimseFeed(options: DimseFeedOptions): Promise<DimseFeed> {
  const config = resolveOptions(options);
  dimseLog.setLevel(options.libraryLogLevel ?? 'silent');
  const logger = options.logger ?? silentLogger;
  const sockets = new Set<Socket>();
  const EcgScp = scpClass(options, config);

  const server: NetServer = createServer((socket) => {
    if (sockets.size >= config.maxConnections) {
      logger.warn({ feed: 'cstore', remote: socket.remoteAddress }, 'too many DICOM connections; closing');
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    sockets.add(socket);
    // Registered before the library's own listener: a peer announcing an absurd PDU is cut off before it is buffered.
    const guard = new PduGuard(Math.max(config.maxPduLength, 1024 * 1024));
    socket.on('data', (chunk: Buffer) => {
      if (!socket.destroyed && !guard.push(chunk)) {
        logger.warn({ feed: 'cstore', remote: socket.remoteAddress }, 'invalid or oversized DICOM PDU; closing');
        socket.destroy();
      }
    });
    socket.on('close', () => sockets.delete(socket));
    // The library listens for socket errors too; this one keeps an unlucky ordering from becoming an uncaught error.
    socket.on('error', () => {});
    try {
      const scp = new EcgScp(socket, { pduTimeout: config.pduTimeoutMs, associationTimeout: config.pduTimeoutMs });
      scp.on('networkError', (err: unknown) => {
        logger.warn({ feed: 'cstore', remote: socket.remoteAddress, error: messageOf(err) }, 'DICOM network error');
        socket.destroy();
      });
    } catch (err) {
      logger.error({ feed: 'cstore', error: messageOf(err) }, 'could not start a DICOM association handler');
      socket.destroy();
    }
  });
  server.on('error', (err) => logger.error({ feed: 'cstore', error: messageOf(err) }, 'DICOM listener error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ feed: 'cstore', host: config.host, port, aeTitle: config.aeTitle }, 'DICOM C-STORE SCP listening');

  return {
    port,
    host: config.host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface ResolvedConfig {
  aeTitle: string;
  host: string;
  maxPduLength: number;
  allowedCalling: Set<string> | undefined;
  acceptAnyCalledAe: boolean;
  maxDatasetBytes: number;
  maxConnections: number;
  pduTimeoutMs: number;
}

function resolveOptions(options: DimseFeedOptions): ResolvedConfig {
  const issues: string[] = [];
  const aeTitle = (options.aeTitle ?? '').trim();
  if (!/^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(aeTitle)) issues.push('aeTitle: 1-16 printable ASCII characters, no "\\"');
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) issues.push('port: 0-65535');
  const maxPduLength = options.maxPduLength ?? 65536;
  if (!Number.isInteger(maxPduLength) || maxPduLength < 4096 || maxPduLength > 16 * 1024 * 1024) {
    issues.push('maxPduLength: an integer from 4096 to 16777216');
  }
  const acceptAny = options.acceptAnyCallingAe ?? options.allowedCallingAeTitles === undefined;
  if (!acceptAny && (options.allowedCallingAeTitles ?? []).length === 0) {
    issues.push('allowedCallingAeTitles: give at least one, or set acceptAnyCallingAe');
  }
  if (issues.length > 0) throw new ConfigError(issues.map((i) => `dimse feed ${i}`));
  return {
    aeTitle,
    host: options.host ?? '0.0.0.0',
    maxPduLength,
    allowedCalling: acceptAny ? undefined : new Set((options.allowedCallingAeTitles ?? []).map((t) => t.trim())),
    acceptAnyCalledAe: options.acceptAnyCalledAe ?? false,
    maxDatasetBytes: options.maxDatasetBytes ?? 64 * 1024 * 1024,
    maxConnections: options.maxConnections ?? 64,
    pduTimeoutMs: options.pduTimeoutMs ?? 60_000,
  };
}

/** Collects a C-STORE dataset in memory up to a limit; past it, drops the rest and remembers that it did. */
class DatasetCollector extends WritableStream {
  readonly chunks: Buffer[] = [];
  size = 0;
  overLimit = false;
  constructor(private readonly limit: number) {
    // A high water mark above any PDU keeps write() returning true, so the library never waits for 'drain'.
    super({ highWaterMark: 1 << 30 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.size += chunk.byteLength;
    if (this.size > this.limit) {
      this.overLimit = true;
      this.chunks.length = 0;
    } else {
      this.chunks.push(chunk);
    }
    callback();
  }
}

/** Dataset objects we hand to dcmjs-dimse carry no parsed elements: the raw bytes travel beside them. */
const received = new WeakMap<object, { bytes: Uint8Array; transferSyntaxUid: string } | { overLimit: true }>();

function scpClass(options: DimseFeedOptions, config: ResolvedConfig) {
  const logger = options.logger ?? silentLogger;
  return class EcgScp extends Scp {
    #association: Association | undefined;
    readonly #socket: Socket;

    constructor(socket: Socket, opts?: ConstructorParameters<typeof Scp>[1]) {
      super(socket, opts);
      this.#socket = socket;
    }

    /** The peer aborted: close the connection at once (dcmtk waits for the close before it exits). */
    override abort(): void {
      this.#socket.destroy();
    }

    override associationRequested(association: Association): void {
      this.#association = association;
      const calling = association.getCallingAeTitle().trim();
      const called = association.getCalledAeTitle().trim();
      if (config.allowedCalling && !config.allowedCalling.has(calling)) {
        logger.warn({ feed: 'cstore', callingAe: calling }, 'association rejected: calling AE title not allowed');
        this.sendAssociationReject(
          RejectResult.Permanent,
          RejectSource.ServiceUser,
          RejectReason.CallingAeNotRecognized,
        );
        return;
      }
      if (!config.acceptAnyCalledAe && called !== config.aeTitle) {
        logger.warn({ feed: 'cstore', calledAe: called }, 'association rejected: called AE title is not ours');
        this.sendAssociationReject(
          RejectResult.Permanent,
          RejectSource.ServiceUser,
          RejectReason.CalledAeNotRecognized,
        );
        return;
      }
      association.setMaxPduLength(config.maxPduLength);
      for (const { context } of association.getPresentationContexts()) negotiate(context);
      this.sendAssociationAccept();
    }

    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }

    override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponseT) => void): void {
      const response = CEchoResponse.fromRequest(request);
      response.setStatus(Status.Success);
      callback(response);
    }

    override createStoreWritableStream(_context: PresentationContext, _request: CStoreRequest): Writable {
      return new DatasetCollector(config.maxDatasetBytes);
    }

    override createDatasetFromStoreWritableStream(
      writable: Writable,
      context: PresentationContext,
      callback: (dataset: DatasetT) => void,
    ): void {
      const dataset = new Dataset({}, context.getAcceptedTransferSyntaxUid());
      const collector = writable as DatasetCollector;
      received.set(
        dataset,
        collector.overLimit
          ? { overLimit: true }
          : {
              bytes: collector.chunks.length === 1 ? collector.chunks[0]! : Buffer.concat(collector.chunks),
              transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian,
            },
      );
      callback(dataset);
    }

    override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponseT) => void): void {
      const respond = (status: number, comment?: string): void => {
        try {
          const response = CStoreResponse.fromRequest(request);
          response.setStatus(status);
          if (comment) response.setErrorComment(errorComment(comment));
          callback(response);
        } catch (err) {
          logger.error({ feed: 'cstore', error: messageOf(err) }, 'could not send a C-STORE response');
        }
      };
      this.#store(request)
        .then(({ status, comment }) => respond(status, comment))
        .catch((err: unknown) => {
          logger.error({ feed: 'cstore', error: messageOf(err) }, 'C-STORE handling failed');
          respond(CStoreStatus.OutOfResources, 'internal error; retry later');
        });
    }

    async #store(request: CStoreRequest): Promise<{ status: number; comment?: string }> {
      const receivedAt = new Date().toISOString();
      const callingAe = this.#association?.getCallingAeTitle().trim();
      const sopClassUid = request.getAffectedSopClassUid();
      const sopInstanceUid = request.getAffectedSopInstanceUid();
      const meta: IntakeMeta = {
        feed: 'cstore',
        receivedAt,
        contentType: 'application/dicom',
        ...(callingAe ? { remote: callingAe, sender: `ae:${callingAe}` } : {}),
      };
      const dataset = request.getDataset();
      const payload = dataset ? received.get(dataset) : undefined;
      const started = performance.now();
      const refuse = (error: EcgcadError, status: number) => {
        logger.warn({ feed: 'cstore', code: error.code, reason: error.message }, 'C-STORE refused');
        try {
          options.onOutcome?.('cstore', 'refused', performance.now() - started);
        } catch {
          // A broken metrics hook must not change what the sender is told.
        }
        return { status, comment: error.message };
      };
      if (!isEcgWaveformSopClass(sopClassUid)) {
        return refuse(
          new UnsupportedFormatError('dicom', 'SOP class is not an ECG waveform class'),
          CStoreStatus.SopClassNotSupported,
        );
      }
      if (!payload || 'overLimit' in payload) {
        return refuse(
          new LimitExceededError(`data set over ${config.maxDatasetBytes} bytes`),
          CStoreStatus.CannotUnderstand,
        );
      }
      const file = writePart10(payload.bytes, {
        sopClassUid,
        sopInstanceUid: sopInstanceUid ?? '',
        transferSyntaxUid: payload.transferSyntaxUid,
        ...(callingAe ? { sourceAeTitle: callingAe } : {}),
      });
      const result = await handOver(file, meta, options);
      if (result.outcome === 'accepted') return { status: CStoreStatus.Success };
      if (result.outcome === 'retry') return { status: CStoreStatus.OutOfResources, comment: result.reason };
      const status =
        result.error.code === 'UNSUPPORTED_FORMAT'
          ? CStoreStatus.DataSetDoesNotMatchSopClass
          : CStoreStatus.CannotUnderstand;
      return { status, comment: result.reason };
    }
  };
}

/** Accepts ECG waveform classes (and Verification) in Explicit or Implicit VR Little Endian; rejects the rest. */
function negotiate(context: PresentationContext): void {
  const abstract = context.getAbstractSyntaxUid();
  if (abstract !== SopClass.Verification && !isEcgWaveformSopClass(abstract)) {
    context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
    return;
  }
  const offered = context.getTransferSyntaxUids();
  // Prefer explicit VR: it keeps VRs the sender chose, which the decoder can check.
  const chosen = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian].find((ts) =>
    offered.includes(ts),
  );
  if (chosen) context.setResult(PresentationContextResult.Accept, chosen);
  else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
}

/** ErrorComment is LO: at most 64 characters, no backslash, no control characters. */
export function errorComment(reason: string): string {
  // Printable ASCII except the backslash (LO's value delimiter).
  const clean = reason.replace(/[^ -[\]-~]/g, ' ').trim();
  return clean.length <= 64 ? clean : `${clean.slice(0, 61)}...`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
