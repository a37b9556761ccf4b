/**
 * A small, strict, incremental parser for multipart/related bodies (RFC 2046 5.1, RFC 2387), as DICOMweb STOW-RS
 * senders write them. Chunks may split a delimiter anywhere; memory stays bounded by the limits.
 * Strict: no header line folding, delimiters must be followed by `--` or CRLF (transport padding allowed),
 * a body that ends before the closing delimiter is an error.
 */
import { LimitExceededError, MalformedInputError } from '@ecgcad/ecg';
import { parse as parseContentType } from 'content-type';

/** A media type with lower-cased type/subtype and parameter names. */
export interface MediaType {
  /** e.g. `multipart/related`. */
  type: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TYPE_SUBTYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses a Content-Type value (RFC 9110 8.3.1) with the `content-type` package, which reads parameters the way
 * senders write them (an unquoted `type=application/dicom` although "/" is not a token character) and drops a
 * broken one. Returns undefined when the value is missing, over 1 KiB, or its type is not `type/subtype`.
 */
export function parseMediaType(value: string | undefined): MediaType | undefined {
  if (value === undefined || value.length > 1024) return undefined;
  const { type, parameters } = parseContentType(value);
  if (!TYPE_SUBTYPE.test(type)) return undefined;
  const params: Record<string, string> = {};
  for (const [name, paramValue] of Object.entries(parameters)) if (TOKEN.test(name)) params[name] = paramValue;
  return { type, params };
}

/** RFC 2046 boundary: 1-70 bchars, not ending in a space. */
export function isValidBoundary(boundary: string): boolean {
  return /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary);
}

/** Limits of one multipart body. */
export interface MultipartLimits {
  /** Most parts. Default 100. */
  maxParts: number;
  /** Largest part body in bytes. Default 32 MiB. */
  maxPartBytes: number;
  /** Largest header block of one part, and largest preamble, in bytes. Default 16 KiB. */
  maxHeaderBytes: number;
  /** Largest whole body in bytes. Default 256 MiB. */
  maxTotalBytes: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = {
  maxParts: 100,
  maxPartBytes: 32 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

/** One part: lower-cased header names, and the body bytes. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Uint8Array;
}

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'epilogue';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_PADDING = 256;

/** Feed chunks with `push`, then call `end` for the parts. Throws MalformedInputError or LimitExceededError. */
export class MultipartParser {
  readonly #delimiter: Buffer;
  readonly #limits: MultipartLimits;
  // The stream starts with a virtual CRLF, so the first delimiter needs no special case.
  #pending: Buffer = Buffer.from(CRLF);
  #state: State = 'preamble';
  #preambleBytes = 0;
  #total = 0;
  #headers: Record<string, string> = {};
  #chunks: Buffer[] = [];
  #partBytes = 0;
  readonly #parts: MultipartPart[] = [];

  constructor(boundary: string, limits: Partial<MultipartLimits> = {}) {
    if (!isValidBoundary(boundary)) throw new MalformedInputError('multipart', 'invalid multipart boundary');
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.#limits = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
  }

  /** Parts completed so far. */
  get parts(): readonly MultipartPart[] {
    return this.#parts;
  }

  push(chunk: Uint8Array): void {
    this.#total += chunk.byteLength;
    if (this.#total > this.#limits.maxTotalBytes) {
      throw new LimitExceededError(`multipart body over ${this.#limits.maxTotalBytes} bytes`);
    }
    if (this.#state === 'epilogue') return;
    this.#pending = this.#pending.byteLength === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    while (this.#step()) {
      // each step consumes input or changes state; it returns false when it needs more bytes
    }
  }

  /** Finishes the body; returns all parts. */
  end(): MultipartPart[] {
    if (this.#state !== 'epilogue') {
      throw new MalformedInputError('multipart', 'multipart body ended before its closing boundary');
    }
    return this.#parts;
  }

  #step(): boolean {
    const buf = this.#pending;
    const delimiter = this.#delimiter;
    switch (this.#state) {
      case 'preamble': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          const keep = Math.min(buf.byteLength, delimiter.byteLength - 1);
          this.#preambleBytes += buf.byteLength - keep;
          if (this.#preambleBytes > this.#limits.maxHeaderBytes) {
            throw new MalformedInputError('multipart', 'no multipart boundary found where the body starts');
          }
          this.#pending = buf.subarray(buf.byteLength - keep);
          return false;
        }
        this.#pending = buf.subarray(at + delimiter.byteLength);
        this.#state = 'afterDelimiter';
        return true;
      }
      case 'afterDelimiter': {
        if (buf.byteLength < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          this.#state = 'epilogue';
          this.#pending = Buffer.alloc(0);
          return false;
        }
        let at = 0;
        while (at < buf.byteLength && (buf[at] === 0x20 || buf[at] === 0x09)) at++;
        if (at > MAX_PADDING) throw new MalformedInputError('multipart', 'too much padding after a boundary');
        if (buf.byteLength < at + 2) return false;
        if (buf[at] !== 0x0d || buf[at + 1] !== 0x0a) {
          throw new MalformedInputError('multipart', 'boundary not followed by CRLF or "--"');
        }
        if (this.#parts.length >= this.#limits.maxParts) {
          throw new LimitExceededError(`more than ${this.#limits.maxParts} parts`);
        }
        this.#pending = buf.subarray(at + 2);
        this.#state = 'headers';
        return true;
      }
      case 'headers': {
        if (buf.byteLength >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          this.#headers = {};
          this.#pending = buf.subarray(2);
          this.#state = 'body';
          return true;
        }
        const at = buf.indexOf(HEADER_END);
        if (at < 0) {
          if (buf.byteLength > this.#limits.maxHeaderBytes) {
            throw new LimitExceededError(`part headers over ${this.#limits.maxHeaderBytes} bytes`);
          }
          return false;
        }
        if (at > this.#limits.maxHeaderBytes) {
          throw new LimitExceededError(`part headers over ${this.#limits.maxHeaderBytes} bytes`);
        }
        this.#headers = parseHeaders(buf.subarray(0, at).toString('latin1'));
        this.#pending = buf.subarray(at + HEADER_END.byteLength);
        this.#state = 'body';
        return true;
      }
      case 'body': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          const safe = buf.byteLength - (delimiter.byteLength - 1);
          if (safe > 0) {
            this.#addBody(buf.subarray(0, safe));
            this.#pending = buf.subarray(safe);
          }
          return false;
        }
        this.#addBody(buf.subarray(0, at));
        const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
        this.#parts.push({
          headers: this.#headers,
          body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        });
        this.#chunks = [];
        this.#partBytes = 0;
        this.#pending = buf.subarray(at + delimiter.byteLength);
        this.#state = 'afterDelimiter';
        return true;
      }
      case 'epilogue':
        return false;
    }
  }

  #addBody(bytes: Buffer): void {
    if (bytes.byteLength === 0) return;
    this.#partBytes += bytes.byteLength;
    if (this.#partBytes > this.#limits.maxPartBytes) {
      throw new LimitExceededError(`a part is over ${this.#limits.maxPartBytes} bytes`);
    }
    // Copy: the pending buffer is reused by later concatenations.
    this.#chunks.push(Buffer.from(bytes));
  }
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      throw new MalformedInputError('multipart', 'folded part header lines are not accepted');
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new MalformedInputError('multipart', 'malformed part header line');
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}

/** Parses a whole body in one go (tests, small bodies). */
export function parseMultipart(body: Uint8Array, boundary: string, limits?: Partial<MultipartLimits>): MultipartPart[] {
  const parser = new MultipartParser(boundary, limits);
  parser.push(body);
  return parser.end();
}
