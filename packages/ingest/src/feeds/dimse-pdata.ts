/**
 * The DIMSE message path of the C-STORE SCP (PS3.8 9.3.5 P-DATA-TF, PS3.7 6.3 messages, Annex E command sets), done
 * here rather than by dcmjs-dimse: P-DATA-TF PDUs are read item by item as the bytes come, a data set's PDV
 * fragments are kept as views of the socket's chunks until the intake needs them contiguous (one copy, into the
 * Part 10 file), the command set is read and the response
 * written by hand (Implicit VR Little Endian, a handful of group 0000 elements). The library keeps association
 * negotiation, release and abort; its P-DATA path copied each PDU several times and encoded every response through
 * dcmjs, which cost more CPU per file than decoding the ECG. The data set is hashed as its fragments come, while the
 * sender is still sending the rest, rather than once the last one is in (when the sender waits for the answer).
 */
import { createHash, type Hash } from 'node:crypto';

/** PDU types (PS3.8 9.3.1). */
export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PDataTf: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;

/** DIMSE command fields (PS3.7 E.1) the SCP tells apart. */
export const CommandField = {
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const;

/** CommandDataSetType value meaning "no data set follows" (PS3.7 E.1). */
const NO_DATASET = 0x0101;
/** Largest command set we take: a real one is a few hundred bytes. */
const MAX_COMMAND_BYTES = 64 * 1024;

/** The peer broke the DIMSE rules (the SCP answers with A-ABORT). The message never holds received values. */
export class DimseProtocolError extends Error {
  override name = 'DimseProtocolError';
}

/** The fields of a command set the SCP uses. */
export interface DimseCommand {
  /** Presentation context the command arrived on. */
  presentationContextId: number;
  commandField: number;
  messageId: number;
  /** Affected SOP Class UID (0000,0002), if present. */
  sopClassUid?: string;
  /** Affected SOP Instance UID (0000,1000), if present. */
  sopInstanceUid?: string;
  /** A data set follows the command (CommandDataSetType other than 0x0101). */
  hasDataset: boolean;
}

/** One whole DIMSE message. */
export interface DimseMessage {
  command: DimseCommand;
  /** The data set's PDV values in order (views into the received PDUs); empty when none or over the limit. */
  dataset: Buffer[];
  /** Bytes of data set received (counted even past the limit). */
  datasetBytes: number;
  /** The data set passed `maxDatasetBytes`: its bytes were dropped as they came. */
  overLimit: boolean;
  /** SHA-256 (hex) of the data set's bytes as received; absent when none or over the limit. */
  datasetSha256?: string;
}

/** What a {@link DimseStreamReader} hands on. */
export interface DimseStreamHandlers {
  /** A whole PDU other than P-DATA-TF (association, release, abort), header included. */
  onPdu(pdu: Buffer): void;
  /** A whole DIMSE message. */
  onMessage(message: DimseMessage): void;
  /** Called at each P-DATA-TF PDU header; may throw (e.g. DimseProtocolError before the association is accepted). */
  onPData?(): void;
}

/**
 * Reads the upper-layer byte stream of one association (PS3.8 9.3): P-DATA-TF PDUs are taken apart item by item as
 * the bytes come, so a data set's fragments are views of the socket's chunks (no copy of a PDU, wherever the chunks
 * cut it); every other PDU is gathered whole and handed on. One DIMSE message at a time, as without asynchronous
 * operations. The caller bounds PDU lengths (PduGuard) before bytes get here. push() throws DimseProtocolError on
 * a broken stream (the SCP aborts the association).
 */
export class DimseStreamReader {
  /** Header bytes (PDU or PDV item) gathered so far. */
  readonly #head = Buffer.alloc(6);
  #headFill = 0;
  /** Body bytes of the current P-DATA-TF PDU still to come (items included). */
  #pduLeft = 0;
  /** A PDU of another type being gathered whole. */
  #other: Buffer[] | undefined;
  #otherLeft = 0;
  /** The PDV item being read: value bytes still to come, its context and control header. */
  #valueLeft = -1;
  #contextId = 0;
  #control = 0;
  #commandParts: Buffer[] = [];
  #commandBytes = 0;
  #command: DimseCommand | undefined;
  #dataset: Buffer[] = [];
  #datasetBytes = 0;
  /** SHA-256 of the data set's fragments so far (undefined before the first one and past the limit). */
  #datasetHash: Hash | undefined;

  constructor(
    private readonly maxDatasetBytes: number,
    private readonly handlers: DimseStreamHandlers,
  ) {}

  /** Feeds one chunk of the stream. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#other) {
        const take = Math.min(this.#otherLeft, chunk.length - at);
        this.#other.push(chunk.subarray(at, at + take));
        this.#otherLeft -= take;
        at += take;
        if (this.#otherLeft === 0) {
          const pdu = Buffer.concat(this.#other);
          this.#other = undefined;
          this.handlers.onPdu(pdu);
        }
        continue;
      }
      if (this.#valueLeft >= 0) {
        const take = Math.min(this.#valueLeft, chunk.length - at);
        if (take > 0) this.#value(chunk.subarray(at, at + take));
        this.#valueLeft -= take;
        this.#pduLeft -= take;
        at += take;
        if (this.#valueLeft === 0) {
          this.#valueLeft = -1;
          this.#itemEnd();
        }
        continue;
      }
      // A header: the PDU's (between PDUs) or the next PDV item's (inside a P-DATA-TF PDU).
      const take = Math.min(6 - this.#headFill, chunk.length - at);
      chunk.copy(this.#head, this.#headFill, at, at + take);
      this.#headFill += take;
      at += take;
      if (this.#headFill < 6) continue;
      this.#headFill = 0;
      if (this.#pduLeft > 0) this.#itemHeader();
      else this.#pduHeader();
    }
  }

  #pduHeader(): void {
    const length = this.#head.readUInt32BE(2);
    if (this.#head[0] === PduType.PDataTf) {
      this.handlers.onPData?.();
      if (length < 6) throw new DimseProtocolError('P-DATA-TF PDU too short for a PDV item');
      this.#pduLeft = length;
      return;
    }
    const header = Buffer.from(this.#head);
    if (length === 0) {
      this.handlers.onPdu(header);
      return;
    }
    this.#other = [header];
    this.#otherLeft = length;
  }

  #itemHeader(): void {
    const itemLength = this.#head.readUInt32BE(0);
    if (itemLength < 2 || itemLength + 4 > this.#pduLeft) throw new DimseProtocolError('PDV item length out of range');
    this.#pduLeft -= 6;
    this.#contextId = this.#head[4] as number;
    this.#control = this.#head[5] as number;
    const isCommand = (this.#control & 0x01) !== 0;
    if (isCommand && this.#command) throw new DimseProtocolError('command fragment while a data set was expected');
    if (!isCommand) {
      if (!this.#command) throw new DimseProtocolError('data set fragment without a command');
      if (this.#contextId !== this.#command.presentationContextId) {
        throw new DimseProtocolError('data set fragment on another presentation context than its command');
      }
    }
    this.#valueLeft = itemLength - 2;
    if (this.#valueLeft === 0) {
      this.#valueLeft = -1;
      this.#itemEnd();
    }
  }

  /** Some bytes of the current item's value (a view of the chunk). */
  #value(piece: Buffer): void {
    if ((this.#control & 0x01) !== 0) {
      this.#commandBytes += piece.length;
      if (this.#commandBytes > MAX_COMMAND_BYTES) throw new DimseProtocolError('command set too long');
      this.#commandParts.push(piece);
      return;
    }
    this.#datasetBytes += piece.length;
    if (this.#datasetBytes <= this.maxDatasetBytes) {
      this.#dataset.push(piece);
      this.#datasetHash ??= createHash('sha256');
      this.#datasetHash.update(piece);
    } else {
      this.#dataset.length = 0;
      this.#datasetHash = undefined;
    }
  }

  #itemEnd(): void {
    if ((this.#control & 0x02) === 0) return;
    if ((this.#control & 0x01) !== 0) {
      const parts = this.#commandParts;
      const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      this.#commandParts = [];
      this.#commandBytes = 0;
      const command = readCommandSet(bytes, this.#contextId);
      if (command.hasDataset) this.#command = command;
      else this.handlers.onMessage({ command, dataset: [], datasetBytes: 0, overLimit: false });
      return;
    }
    const command = this.#command as DimseCommand;
    const overLimit = this.#datasetBytes > this.maxDatasetBytes;
    const message: DimseMessage = {
      command,
      dataset: overLimit ? [] : this.#dataset,
      datasetBytes: this.#datasetBytes,
      overLimit,
      ...(overLimit ? {} : { datasetSha256: (this.#datasetHash ?? createHash('sha256')).digest('hex') }),
    };
    this.#command = undefined;
    this.#dataset = [];
    this.#datasetBytes = 0;
    this.#datasetHash = undefined;
    this.handlers.onMessage(message);
  }
}

/** Reads a command set (Implicit VR Little Endian, group 0000; PS3.7 6.3.1). */
export function readCommandSet(bytes: Buffer, presentationContextId: number): DimseCommand {
  let commandField: number | undefined;
  let messageId: number | undefined;
  let dataSetType: number | undefined;
  let sopClassUid: string | undefined;
  let sopInstanceUid: string | undefined;
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 8) throw new DimseProtocolError('truncated command element');
    const group = bytes.readUInt16LE(at);
    const element = bytes.readUInt16LE(at + 2);
    const length = bytes.readUInt32LE(at + 4);
    const start = at + 8;
    at = start + length;
    if (at > bytes.length) throw new DimseProtocolError('command element length out of range');
    if (group !== 0x0000) throw new DimseProtocolError('command set element outside group 0000');
    const us = () => {
      if (length !== 2) throw new DimseProtocolError('command US element of wrong length');
      return bytes.readUInt16LE(start);
    };
    if (element === 0x0100) commandField = us();
    else if (element === 0x0110) messageId = us();
    else if (element === 0x0800) dataSetType = us();
    else if (element === 0x0002) sopClassUid = uid(bytes, start, at);
    else if (element === 0x1000) sopInstanceUid = uid(bytes, start, at);
  }
  if (commandField === undefined || dataSetType === undefined) {
    throw new DimseProtocolError('command set without CommandField or CommandDataSetType');
  }
  if (messageId === undefined && (commandField & 0x8000) === 0 && commandField !== CommandField.CCancelRq) {
    throw new DimseProtocolError('request without MessageID');
  }
  return {
    presentationContextId,
    commandField,
    messageId: messageId ?? 0,
    ...(sopClassUid === undefined ? {} : { sopClassUid }),
    ...(sopInstanceUid === undefined ? {} : { sopInstanceUid }),
    hasDataset: dataSetType !== NO_DATASET,
  };
}

/** A UI value without its NUL or space padding. */
function uid(bytes: Buffer, start: number, end: number): string {
  let stop = end;
  while (stop > start && (bytes[stop - 1] === 0 || bytes[stop - 1] === 0x20)) stop--;
  return bytes.toString('latin1', start, stop);
}

/** The fields of a response command set. */
export interface DimseResponse {
  /** Request's command field with the response bit (0x8000) set. */
  commandField: number;
  messageIdBeingRespondedTo: number;
  status: number;
  sopClassUid?: string;
  sopInstanceUid?: string;
  /** ErrorComment (0000,0902): LO, at most 64 characters of printable ASCII without a backslash. */
  errorComment?: string;
}

/** A P-DATA-TF PDU carrying one response command set (one PDV, command, last fragment). */
export function encodeResponsePdu(presentationContextId: number, response: DimseResponse): Buffer {
  const elements: [number, Buffer][] = [];
  const text = (value: string, pad: number) => {
    const raw = Buffer.from(value, 'latin1');
    return raw.length % 2 === 0 ? raw : Buffer.concat([raw, Buffer.from([pad])]);
  };
  const us = (value: number) => {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(value);
    return b;
  };
  if (response.sopClassUid !== undefined) elements.push([0x0002, text(response.sopClassUid, 0)]);
  elements.push([0x0100, us(response.commandField)]);
  elements.push([0x0120, us(response.messageIdBeingRespondedTo)]);
  elements.push([0x0800, us(NO_DATASET)]);
  elements.push([0x0900, us(response.status)]);
  if (response.errorComment) elements.push([0x0902, text(response.errorComment, 0x20)]);
  if (response.sopInstanceUid !== undefined) elements.push([0x1000, text(response.sopInstanceUid, 0)]);
  const groupBytes = elements.reduce((sum, [, value]) => sum + 8 + value.length, 0);
  const commandBytes = 12 + groupBytes;
  const pdu = Buffer.allocUnsafe(6 + 6 + commandBytes);
  pdu.writeUInt8(PduType.PDataTf, 0);
  pdu.writeUInt8(0, 1);
  pdu.writeUInt32BE(6 + commandBytes, 2);
  pdu.writeUInt32BE(2 + commandBytes, 6);
  pdu.writeUInt8(presentationContextId, 10);
  pdu.writeUInt8(0x03, 11);
  let at = 12;
  // (0000,0000) CommandGroupLength, UL.
  pdu.writeUInt32LE(0, at);
  pdu.writeUInt32LE(4, at + 4);
  pdu.writeUInt32LE(groupBytes, at + 8);
  at += 12;
  for (const [element, value] of elements) {
    pdu.writeUInt16LE(0x0000, at);
    pdu.writeUInt16LE(element, at + 2);
    pdu.writeUInt32LE(value.length, at + 4);
    value.copy(pdu, at + 8);
    at += 8 + value.length;
  }
  return pdu;
}
