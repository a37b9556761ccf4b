/**
 * The DIMSE message path of the C-STORE SCP (PS3.8 9.3.5 P-DATA-TF, PS3.7 6.3 messages, Annex E command sets), done
 * here rather than by dcmjs-dimse: PDUs are framed without copying when they lie in one socket chunk, a data set's
 * PDV fragments are kept as views until the intake needs them contiguous, the command set is read and the response
 * written by hand (Implicit VR Little Endian, a handful of group 0000 elements). The library keeps association
 * negotiation, release and abort; its P-DATA path copied each PDU several times and encoded every response through
 * dcmjs, which cost more CPU per file than decoding the ECG.
 */

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

/**
 * Splits a byte stream into whole PDUs (header included). A PDU inside one chunk is handed on as a view of it (no
 * copy); one spread over chunks is copied once. The caller bounds PDU lengths (PduGuard) before bytes get here.
 */
export class PduFramer {
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Feeds one chunk; calls `onPdu` for each PDU it completes, in order. */
  push(chunk: Buffer, onPdu: (pdu: Buffer) => void): void {
    let at = 0;
    if (this.#buffered === 0) {
      while (chunk.length - at >= 6) {
        const end = at + 6 + chunk.readUInt32BE(at + 2);
        if (end > chunk.length) break;
        onPdu(chunk.subarray(at, end));
        at = end;
      }
      if (at === chunk.length) return;
    }
    const rest = at === 0 ? chunk : chunk.subarray(at);
    this.#chunks.push(rest);
    this.#buffered += rest.length;
    while (this.#buffered >= 6) {
      const total = 6 + this.#header().readUInt32BE(2);
      if (this.#buffered < total) return;
      onPdu(this.#take(total));
    }
  }

  /** The first six buffered bytes, contiguous. */
  #header(): Buffer {
    const first = this.#chunks[0] as Buffer;
    return first.length >= 6 ? first : Buffer.concat(this.#chunks, 6);
  }

  /** Removes and returns the first `n` buffered bytes (n <= buffered). */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0] as Buffer;
      const take = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    return out;
  }
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
}

/** Reads P-DATA-TF PDUs into DIMSE messages (one message at a time, as without asynchronous operations). */
export class DimseAssembler {
  #commandParts: Buffer[] = [];
  #commandBytes = 0;
  #command: DimseCommand | undefined;
  #dataset: Buffer[] = [];
  #datasetBytes = 0;

  constructor(private readonly maxDatasetBytes: number) {}

  /** Reads one P-DATA-TF PDU (header included); returns the messages it completed. Throws DimseProtocolError. */
  push(pdu: Buffer): DimseMessage[] {
    if (pdu[0] !== PduType.PDataTf) throw new DimseProtocolError('not a P-DATA-TF PDU');
    const done: DimseMessage[] = [];
    let at = 6;
    while (at < pdu.length) {
      if (pdu.length - at < 6) throw new DimseProtocolError('truncated PDV item');
      const itemLength = pdu.readUInt32BE(at);
      const end = at + 4 + itemLength;
      if (itemLength < 2 || end > pdu.length) throw new DimseProtocolError('PDV item length out of range');
      const contextId = pdu[at + 4] as number;
      const header = pdu[at + 5] as number;
      const value = pdu.subarray(at + 6, end);
      at = end;
      const last = (header & 0x02) !== 0;
      if ((header & 0x01) !== 0) {
        if (this.#command) throw new DimseProtocolError('command fragment while a data set was expected');
        this.#commandBytes += value.length;
        if (this.#commandBytes > MAX_COMMAND_BYTES) throw new DimseProtocolError('command set too long');
        this.#commandParts.push(value);
        if (!last) continue;
        const bytes = this.#commandParts.length === 1 ? value : Buffer.concat(this.#commandParts);
        this.#commandParts = [];
        this.#commandBytes = 0;
        const command = readCommandSet(bytes, contextId);
        if (command.hasDataset) this.#command = command;
        else done.push({ command, dataset: [], datasetBytes: 0, overLimit: false });
        continue;
      }
      const command = this.#command;
      if (!command) throw new DimseProtocolError('data set fragment without a command');
      if (contextId !== command.presentationContextId) {
        throw new DimseProtocolError('data set fragment on another presentation context than its command');
      }
      this.#datasetBytes += value.length;
      if (this.#datasetBytes <= this.maxDatasetBytes) this.#dataset.push(value);
      else this.#dataset.length = 0;
      if (!last) continue;
      const overLimit = this.#datasetBytes > this.maxDatasetBytes;
      done.push({ command, dataset: overLimit ? [] : this.#dataset, datasetBytes: this.#datasetBytes, overLimit });
      this.#command = undefined;
      this.#dataset = [];
      this.#datasetBytes = 0;
    }
    return done;
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
