/**
 * DICOM C-STORE SCP for ECG waveform SOP classes (dcmjs-dimse on a node:net or node:tls server we own, so we choose
 * the bind address, set TCP_NODELAY on every socket and can close cleanly). dcmjs-dimse negotiates, releases and
 * aborts associations; the DIMSE messages themselves (C-STORE, C-ECHO) go through dimse-pdata.ts, which reads them
 * with one copy of the data set and answers without the library's per-message encoding work.
 * A C-STORE is answered Success only after the intake resolved; refusals get a failure status whose ErrorComment
 * tells the sender why, and a transient intake failure gets 0xA700 so the sender retries.
 *
 * Who may connect: TLS per the DICOM BCP 195 secure transport profile (PS3.15 B.9: TLS 1.2 or later, AEAD suites
 * with forward secrecy) with optional client-certificate verification; a calling-AE allow list, each title
 * optionally bound to source addresses; a per-source association limit answered with A-ASSOCIATE-RJ
 * (rejected-transient, service-provider presentation, local-limit-exceeded: PS3.8 9.3.4); and two timers of our
 * own (dcmjs-dimse's run only for sockets it accepts itself): the ARTIM timer from connection to A-ASSOCIATE-RQ,
 * and an idle timer that aborts a peer that completes no PDU for too long while we owe it nothing.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { ConfigError, type EcgcadError, LimitExceededError, UnsupportedFormatError } from '@ecgcad/ecg';
import dimse from 'dcmjs-dimse';
import { isEcgWaveformSopClass } from '../dicom/sop-classes.js';
import { encodePart10 } from '../dicom-writer/encode.js';
import { type AddressList, normalizeAddress, parseAddressList } from './address-list.js';
import {
  CommandField,
  type DimseMessage,
  DimseProtocolError,
  type DimseResponse,
  DimseStreamReader,
  encodeResponsePdu,
} from './dimse-pdata.js';
import type { FeedCommonOptions, IntakeMeta } from './intake.js';
import { handOver, notifyPeerRefused, silentLogger } from './intake.js';
import { PduGuard } from './pdu-guard.js';

const { Scp, log: dimseLog } = dimse;
const {
  AbortReason,
  AbortSource,
  PresentationContextResult,
  RejectReason,
  RejectResult,
  RejectSource,
  SopClass,
  Status,
  TransferSyntax,
} = dimse.constants;

type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type Association = InstanceType<typeof dimse.association.Association>;

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

/**
 * TLS 1.2+ cipher suites of the BCP 195 profile (RFC 9325 4.2: AEAD with ephemeral key exchange). TLS 1.3 suites
 * are all AEAD and stay Node's defaults.
 */
export const BCP195_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
].join(':');

/** TLS settings of the SCP (PEM contents, not file names: the engine reads the files). */
export interface DimseTlsOptions {
  /** Server certificate chain (PEM). */
  cert: string | Buffer;
  /** Server private key (PEM). */
  key: string | Buffer;
  /** CA certificate(s) (PEM) that sign the client certificates we accept. */
  ca?: string | Buffer;
  /**
   * Require a client certificate signed by `ca` and refuse the handshake otherwise (Node's requestCert plus
   * rejectUnauthorized). Default true when `ca` is given.
   */
  verifyClient?: boolean;
  /** Lowest TLS version. Default `TLSv1.2` (the profile's minimum). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

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
  /**
   * Calling AE title -> source addresses (IPs or CIDR blocks) it may call from. A title listed here is allowed
   * (it joins `allowedCallingAeTitles`) but only from these addresses; titles not listed here may call from anywhere.
   */
  callingAeAddresses?: Record<string, string[]>;
  /** TLS; without it the listener speaks plain TCP (closed networks only). */
  tls?: DimseTlsOptions;
  /**
   * Open associations per remote address. One more gets A-ASSOCIATE-RJ (transient, local-limit-exceeded); a source
   * holding twice this many connections has further ones closed at once. Default 8.
   */
  maxAssociationsPerSource?: number;
  /** ARTIM: milliseconds from connection (after the TLS handshake) to the A-ASSOCIATE-RQ. Default 30 000. */
  associationTimeoutMs?: number;
  /** Accept associations whatever called AE title they name. Default false. */
  acceptAnyCalledAe?: boolean;
  /** Largest dataset we take, in bytes; bigger ones get 0xC000 (and are not kept). Default 64 MiB. */
  maxDatasetBytes?: number;
  /** Concurrent connections; more are closed at once. Default 64. */
  maxConnections?: number;
  /**
   * Milliseconds the peer may go without completing a PDU while we owe it no answer; then A-ABORT and close. Bytes
   * trickled without finishing a PDU do not count. Default 60 000.
   */
  pduTimeoutMs?: number;
  /** Log level of dcmjs-dimse's own logger (it logs AE titles and UIDs, never datasets). Default `silent`. */
  libraryLogLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

/** A running C-STORE SCP. */
export interface DimseFeed {
  /** The port actually bound. */
  readonly port: number;
  readonly host: string;
  /** True when the listener speaks TLS. */
  readonly tls: boolean;
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

  const perSource = new Map<string, number>();

  const onConnection = (socket: Socket): void => {
    const remote = normalizeAddress(socket.remoteAddress);
    if (sockets.size >= config.maxConnections) {
      logger.warn({ feed: 'cstore', remote }, 'too many DICOM connections; closing');
      socket.destroy();
      return;
    }
    const open = (perSource.get(remote) ?? 0) + 1;
    if (open > 2 * config.maxAssociationsPerSource) {
      // Far past the limit: no A-ASSOCIATE-RJ, which would mean reading each request first.
      logger.warn({ feed: 'cstore', remote }, 'too many DICOM connections from one source; closing');
      socket.destroy();
      return;
    }
    perSource.set(remote, open);
    socket.setNoDelay(true);
    sockets.add(socket);
    const state: ConnectionState = {
      remote,
      overSourceLimit: open > config.maxAssociationsPerSource,
      associated: false,
      awaiting: 0,
      lastProgress: Date.now(),
      peerCertificate: peerCertificateName(socket),
    };
    // Registered before the library's own listener: a peer announcing an absurd PDU is cut off before it is buffered.
    const guard = new PduGuard(Math.max(config.maxPduLength, 1024 * 1024));
    let completed = 0;
    socket.on('data', (chunk: Buffer) => {
      if (!socket.destroyed && !guard.push(chunk)) {
        logger.warn({ feed: 'cstore', remote }, 'invalid or oversized DICOM PDU; closing');
        socket.destroy();
        return;
      }
      if (guard.completed !== completed) {
        completed = guard.completed;
        state.lastProgress = Date.now();
      }
    });
    let scp: InstanceType<typeof EcgScp> | undefined;
    // ARTIM (PS3.8 9.1.5): a transport connection that brings no A-ASSOCIATE-RQ in time is closed without a PDU.
    const artim = setTimeout(() => {
      if (state.associated || socket.destroyed) return;
      logger.warn({ feed: 'cstore', remote }, 'no A-ASSOCIATE-RQ within the association timeout; closing');
      socket.destroy();
    }, config.associationTimeoutMs);
    const idle = setInterval(
      () => {
        if (!state.associated || state.awaiting > 0 || socket.destroyed) return;
        if (Date.now() - state.lastProgress < config.pduTimeoutMs) return;
        logger.warn({ feed: 'cstore', remote }, 'DICOM peer idle past the PDU timeout; aborting the association');
        abortAndClose(socket, scp);
      },
      Math.max(50, Math.min(1000, Math.floor(config.pduTimeoutMs / 4))),
    );
    socket.on('close', () => {
      clearTimeout(artim);
      clearInterval(idle);
      sockets.delete(socket);
      const left = (perSource.get(remote) ?? 1) - 1;
      if (left > 0) perSource.set(remote, left);
      else perSource.delete(remote);
    });
    // The library listens for socket errors too; this one keeps an unlucky ordering from becoming an uncaught error.
    socket.on('error', () => {});
    try {
      // The library's own association/PDU timers never start for sockets it did not accept; ours above do the work.
      scp = new EcgScp(socket, state, { pduTimeout: 2 ** 31 - 1, associationTimeout: 2 ** 31 - 1 });
      scp.on('networkError', (err: unknown) => {
        logger.warn({ feed: 'cstore', remote, error: messageOf(err) }, 'DICOM network error');
        socket.destroy();
      });
    } catch (err) {
      logger.error({ feed: 'cstore', error: messageOf(err) }, 'could not start a DICOM association handler');
      socket.destroy();
    }
  };

  let server: NetServer;
  if (config.tls) {
    const tls = config.tls;
    // Peer addresses of the TCP sockets under the TLS ones: gone from both by the time a failed handshake is reported.
    const tcpPeers = new WeakMap<Socket, string | undefined>();
    const tlsServer = createTlsServer(
      {
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca ? { ca: tls.ca } : {}),
        requestCert: tls.verifyClient,
        rejectUnauthorized: tls.verifyClient,
        minVersion: tls.minVersion,
        ciphers: BCP195_TLS12_CIPHERS,
        honorCipherOrder: true,
        handshakeTimeout: config.associationTimeoutMs,
      },
      (socket: TLSSocket) => onConnection(socket),
    );
    tlsServer.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      // Untrusted, expired or absent client certificates, plain TCP to the TLS port, handshake timeouts. Node
      // destroys a socket whose certificate failed verification and reports it as a hang-up: the verification
      // error (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED...) is on the socket; the address is on the
      // underlying TCP socket by then.
      const parent = (socket as TLSSocket & { _parent?: Socket })._parent;
      logger.warn(
        {
          feed: 'cstore',
          remote: normalizeAddress(socket.remoteAddress ?? (parent ? tcpPeers.get(parent) : undefined)),
          reason: socket.authorizationError ? String(socket.authorizationError) : (err.code ?? err.message),
        },
        'DICOM TLS handshake refused',
      );
      // After a handshake timeout Node leaves the TCP connection open (a silent peer would hold it for ever).
      socket.destroy();
      parent?.destroy();
    });
    tlsServer.on('connection', (raw: Socket) => tcpPeers.set(raw, raw.remoteAddress));
    server = tlsServer;
  } else {
    server = createServer(onConnection);
  }
  // Past this Node closes new connections at accept (this also bounds TLS handshakes not yet counted in `sockets`).
  server.maxConnections = config.maxConnections + 16;
  // Every TCP connection, TLS handshakes included, so close() need not wait for a handshake to time out.
  const tcpSockets = new Set<Socket>();
  server.on('connection', (raw: Socket) => {
    tcpSockets.add(raw);
    raw.on('close', () => tcpSockets.delete(raw));
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
  logger.info(
    { feed: 'cstore', host: config.host, port, aeTitle: config.aeTitle, tls: config.tls !== undefined },
    'DICOM C-STORE SCP listening',
  );

  return {
    port,
    host: config.host,
    tls: config.tls !== undefined,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        for (const socket of tcpSockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What the feed knows about one connection, shared by the socket handlers and the association handler. */
interface ConnectionState {
  /** Peer address, IPv4-mapped IPv6 unwrapped. */
  remote: string;
  /** Opened past maxAssociationsPerSource: the association request gets A-ASSOCIATE-RJ local-limit-exceeded. */
  overSourceLimit: boolean;
  /** An A-ASSOCIATE-RQ arrived (the ARTIM timer stops; the idle timer starts). */
  associated: boolean;
  /** Requests we are still answering: while any is open the peer is waiting on us, not idle. */
  awaiting: number;
  /** When the last whole PDU arrived or we last answered. */
  lastProgress: number;
  /** Subject CN of the verified client certificate, for logs. */
  peerCertificate: string | undefined;
}

interface ResolvedConfig {
  aeTitle: string;
  host: string;
  maxPduLength: number;
  allowedCalling: Set<string> | undefined;
  callingAddresses: Map<string, AddressList>;
  tls: (Required<Omit<DimseTlsOptions, 'ca'>> & { ca?: string | Buffer }) | undefined;
  maxAssociationsPerSource: number;
  associationTimeoutMs: number;
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
  const callingAddresses = new Map<string, AddressList>();
  for (const [title, entries] of Object.entries(options.callingAeAddresses ?? {})) {
    const parsed = parseAddressList(entries);
    if ('invalid' in parsed)
      issues.push(`callingAeAddresses.${title.trim()}: not an IP or CIDR: ${parsed.invalid.join(', ')}`);
    else if (entries.length === 0) issues.push(`callingAeAddresses.${title.trim()}: give at least one address`);
    else callingAddresses.set(title.trim(), parsed.list);
  }
  const listed = [...(options.allowedCallingAeTitles ?? []).map((t) => t.trim()), ...callingAddresses.keys()];
  const hasList = options.allowedCallingAeTitles !== undefined || callingAddresses.size > 0;
  const acceptAny = options.acceptAnyCallingAe ?? !hasList;
  if (!acceptAny && listed.length === 0) {
    issues.push('allowedCallingAeTitles: give at least one, or set acceptAnyCallingAe');
  }
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v <= 0) issues.push(`${name}: a positive integer`);
    return v;
  };
  const maxAssociationsPerSource = positive('maxAssociationsPerSource', options.maxAssociationsPerSource, 8);
  const associationTimeoutMs = positive('associationTimeoutMs', options.associationTimeoutMs, 30_000);
  const pduTimeoutMs = positive('pduTimeoutMs', options.pduTimeoutMs, 60_000);
  let tls: ResolvedConfig['tls'];
  if (options.tls) {
    const t = options.tls;
    if (!t.cert || !t.key) issues.push('tls: cert and key are required');
    const verifyClient = t.verifyClient ?? t.ca !== undefined;
    if (verifyClient && !t.ca) issues.push('tls.verifyClient: needs the CA that signs client certificates (tls.ca)');
    const minVersion = t.minVersion ?? 'TLSv1.2';
    if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') issues.push('tls.minVersion: TLSv1.2 or TLSv1.3');
    tls = { cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}), verifyClient, minVersion };
  }
  if (issues.length > 0) throw new ConfigError(issues.map((i) => `dimse feed ${i}`));
  return {
    aeTitle,
    host: options.host ?? '0.0.0.0',
    maxPduLength,
    allowedCalling: acceptAny ? undefined : new Set(listed),
    callingAddresses,
    tls,
    maxAssociationsPerSource,
    associationTimeoutMs,
    acceptAnyCalledAe: options.acceptAnyCalledAe ?? false,
    maxDatasetBytes: options.maxDatasetBytes ?? 64 * 1024 * 1024,
    maxConnections: options.maxConnections ?? 64,
    pduTimeoutMs,
  };
}

/** dcmjs-dimse's own PDU handler (association, release, abort), called with one whole PDU. */
interface LibraryPduHandler {
  _processPdu(pdu: Buffer): Promise<void>;
}

function scpClass(options: DimseFeedOptions, config: ResolvedConfig) {
  const logger = options.logger ?? silentLogger;
  return class EcgScp extends Scp {
    #association: Association | undefined;
    readonly #socket: Socket;
    readonly #state: ConnectionState;

    /** The association was accepted: P-DATA may flow. */
    #accepted = false;

    constructor(socket: Socket, state: ConnectionState, opts?: ConstructorParameters<typeof Scp>[1]) {
      super(socket, opts);
      this.#socket = socket;
      this.#state = state;
      // The library's socket reader (the last 'data' listener, added by the constructor above) is replaced by ours:
      // P-DATA-TF PDUs go to the DIMSE path in dimse-pdata.ts, every other PDU to the library's handler as before. A
      // message handler that throws (a message on a context not accepted) aborts the association like a bad stream.
      const listeners = socket.listeners('data');
      socket.off('data', listeners[listeners.length - 1] as (chunk: Buffer) => void);
      const reader = new DimseStreamReader(config.maxDatasetBytes, {
        onPdu: (pdu) => void (this as unknown as LibraryPduHandler)._processPdu(pdu),
        onMessage: (message) => this.#dispatch(message),
        onPData: () => {
          if (!this.#accepted) throw new DimseProtocolError('P-DATA-TF before the association was accepted');
        },
      });
      let broken = false;
      socket.on('data', (chunk: Buffer) => {
        if (socket.destroyed || broken) return;
        try {
          reader.push(chunk);
        } catch (err) {
          broken = true;
          logger.warn({ feed: 'cstore', remote: state.remote, error: messageOf(err) }, 'DIMSE protocol error');
          abortAndClose(socket, this);
        }
      });
    }

    #dispatch(message: DimseMessage): void {
      const { command } = message;
      const context = this.#association?.getPresentationContext(command.presentationContextId);
      if (!context || context.getResult() !== PresentationContextResult.Accept) {
        throw new DimseProtocolError('message on a presentation context that was not accepted');
      }
      const answer = (commandField: number, status: number, extra: Partial<DimseResponse> = {}) =>
        this.#send(command.presentationContextId, {
          commandField,
          messageIdBeingRespondedTo: command.messageId,
          status,
          ...(command.sopClassUid === undefined ? {} : { sopClassUid: command.sopClassUid }),
          ...extra,
        });
      switch (command.commandField) {
        case CommandField.CStoreRq:
          this.#cStore(message, context.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian);
          return;
        case CommandField.CEchoRq:
          answer(CommandField.CEchoRsp, Status.Success);
          return;
        case CommandField.CCancelRq:
          // Nothing of ours can be cancelled midway (a C-STORE is answered once its hand-over ends).
          return;
        default:
          // Another request: Unrecognized Operation (PS3.7 C.5.1); a response is for an SCU role we do not play.
          if ((command.commandField & 0x8000) === 0) answer(command.commandField | 0x8000, 0x0211);
      }
    }

    #send(contextId: number, response: DimseResponse): void {
      if (this.#socket.destroyed) return;
      try {
        this.#socket.write(encodeResponsePdu(contextId, response));
      } catch (err) {
        logger.error({ feed: 'cstore', error: messageOf(err) }, 'could not send a DIMSE response');
      }
    }

    #cStore(message: DimseMessage, transferSyntaxUid: string): void {
      const state = this.#state;
      const { command } = message;
      state.awaiting++;
      const respond = (status: number, comment?: string): void => {
        state.awaiting--;
        state.lastProgress = Date.now();
        this.#send(command.presentationContextId, {
          commandField: CommandField.CStoreRsp,
          messageIdBeingRespondedTo: command.messageId,
          status,
          ...(command.sopClassUid === undefined ? {} : { sopClassUid: command.sopClassUid }),
          ...(command.sopInstanceUid === undefined ? {} : { sopInstanceUid: command.sopInstanceUid }),
          ...(comment ? { errorComment: errorComment(comment) } : {}),
        });
      };
      this.#store(message, transferSyntaxUid)
        .then(({ status, comment }) => respond(status, comment))
        .catch((err: unknown) => {
          logger.error({ feed: 'cstore', error: messageOf(err) }, 'C-STORE handling failed');
          respond(CStoreStatus.OutOfResources, 'internal error; retry later');
        });
    }

    #refused(calling: string, code: string, reason: string): void {
      const peer = this.#socket.remoteAddress;
      notifyPeerRefused(options, {
        feed: 'cstore',
        at: new Date().toISOString(),
        ...(calling ? { remote: calling } : {}),
        ...(peer ? { peer } : {}),
        code,
        reason,
      });
    }

    /** The peer aborted: close the connection at once (dcmtk waits for the close before it exits). */
    override abort(): void {
      this.#socket.destroy();
    }

    override associationRequested(association: Association): void {
      this.#association = association;
      const state = this.#state;
      state.associated = true;
      state.lastProgress = Date.now();
      const calling = association.getCallingAeTitle().trim();
      const called = association.getCalledAeTitle().trim();
      const who = {
        feed: 'cstore',
        callingAe: calling,
        remote: state.remote,
        ...(state.peerCertificate ? { certificate: state.peerCertificate } : {}),
      };
      if (config.allowedCalling && !config.allowedCalling.has(calling)) {
        logger.warn(who, 'association rejected: calling AE title not allowed');
        this.#refused(calling, 'AE_NOT_ALLOWED', 'calling AE title not allowed');
        this.sendAssociationReject(
          RejectResult.Permanent,
          RejectSource.ServiceUser,
          RejectReason.CallingAeNotRecognized,
        );
        return;
      }
      const addresses = config.callingAddresses.get(calling);
      if (addresses && !addresses.has(state.remote)) {
        // The title is known but not from this address: to the sender it is the same as an unknown title.
        logger.warn(who, 'association rejected: calling AE title not allowed from this address');
        this.#refused(calling, 'AE_NOT_ALLOWED', 'calling AE title not allowed from this address');
        this.sendAssociationReject(
          RejectResult.Permanent,
          RejectSource.ServiceUser,
          RejectReason.CallingAeNotRecognized,
        );
        return;
      }
      if (!config.acceptAnyCalledAe && called !== config.aeTitle) {
        logger.warn({ ...who, calledAe: called }, 'association rejected: called AE title is not ours');
        this.#refused(calling, 'AE_NOT_RECOGNIZED', 'called AE title is not ours');
        this.sendAssociationReject(
          RejectResult.Permanent,
          RejectSource.ServiceUser,
          RejectReason.CalledAeNotRecognized,
        );
        return;
      }
      if (state.overSourceLimit) {
        // PS3.8 9.3.4: rejected-transient, source service-provider (presentation), reason local-limit-exceeded.
        logger.warn(who, 'association rejected: too many associations from this source');
        this.#refused(calling, 'TOO_MANY_ASSOCIATIONS', 'too many associations from this source');
        this.sendAssociationReject(
          RejectResult.Transient,
          RejectSource.ServiceProviderPresentation,
          RejectReason.LocalLimitExceeded,
        );
        return;
      }
      association.setMaxPduLength(config.maxPduLength);
      for (const { context } of association.getPresentationContexts()) negotiate(context);
      logger.info(who, 'association accepted');
      this.#accepted = true;
      this.sendAssociationAccept();
    }

    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }

    async #store(message: DimseMessage, transferSyntaxUid: string): Promise<{ status: number; comment?: string }> {
      const receivedAt = new Date().toISOString();
      const callingAe = this.#association?.getCallingAeTitle().trim();
      const sopClassUid = message.command.sopClassUid ?? '';
      const sopInstanceUid = message.command.sopInstanceUid;
      const meta: IntakeMeta = {
        feed: 'cstore',
        receivedAt,
        contentType: 'application/dicom',
        ...(callingAe ? { remote: callingAe, sender: `ae:${callingAe}` } : {}),
        ...(this.#socket.remoteAddress ? { peer: this.#socket.remoteAddress } : {}),
      };
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
      if (message.overLimit) {
        return refuse(
          new LimitExceededError(`data set over ${config.maxDatasetBytes} bytes`),
          CStoreStatus.CannotUnderstand,
        );
      }
      // The content's hash covers the data set as the sender sent it, not the File Meta added here (see IntakeMeta);
      // the reader hashed it as it came.
      meta.sha256 = message.datasetSha256;
      const file = encodePart10(
        {
          mediaStorageSopClassUid: sopClassUid,
          mediaStorageSopInstanceUid: sopInstanceUid ?? '',
          transferSyntaxUid,
          ...(callingAe ? { sourceAeTitle: callingAe } : {}),
        },
        { fragments: message.dataset },
      );
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

/** Sends A-ABORT (service provider, reason not specified) and closes; the close is forced if the peer stalls. */
function abortAndClose(socket: Socket, scp: { sendAbort(source?: number, reason?: number): void } | undefined): void {
  try {
    scp?.sendAbort(AbortSource.ServiceProvider, AbortReason.NotSpecified);
  } catch {
    // The socket may already be half closed; closing is what matters.
  }
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** The subject CN of a verified TLS client certificate, if any. */
function peerCertificateName(socket: Socket): string | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (!tls.authorized || typeof tls.getPeerCertificate !== 'function') return undefined;
  const cn = tls.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' ? cn : Array.isArray(cn) ? cn.join(',') : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
