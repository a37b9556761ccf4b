/**
 * The POST of a transaction Bundle over node:http(s) with a keep-alive agent, for the writer's hot path. fetch
 * (undici) costs the engine about twice the CPU per 190 kB Bundle (WHATWG streams on both the body and the reply;
 * bench/write.ts), and the writer posts one per ECG. Same behaviour as fetchWithTimeout: a timeout over the whole
 * exchange and network faults as TransientError, the caller's signal aborting with its reason; TLS verification is
 * Node's default (the same trust store as fetch: the system's plus NODE_EXTRA_CA_CERTS), with no way to turn it off.
 */
import http from 'node:http';
import https from 'node:https';
import { TransientError } from '@ecgcad/ecg';
import { describeUrl } from './http.js';

/** What the client reads of an answer. */
export interface PostAnswer {
  status: number;
  ok: boolean;
  /** A response header (lower-case name), or null. */
  header(name: string): string | null;
  /** The body as JSON, or undefined when it is empty, not JSON or over the cap. */
  json: unknown;
}

/** Options of {@link HttpPoster}. */
export interface HttpPosterOptions {
  /** Cap on a reply body read as JSON; larger ones read as undefined. Default 10 MiB (as readJsonBody). */
  maxReplyBytes?: number;
}

/** POSTs bodies to one origin over kept-alive connections. */
export class HttpPoster {
  private readonly agent: http.Agent;
  private readonly secure: boolean;
  private readonly maxReplyBytes: number;

  constructor(baseUrl: string, options: HttpPosterOptions = {}) {
    this.secure = new URL(baseUrl).protocol === 'https:';
    // Idle sockets are unref'd by the agent (they never hold the process open) and dropped before the server's
    // Keep-Alive timeout hint.
    this.agent = this.secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.maxReplyBytes = options.maxReplyBytes ?? 10 * 1024 * 1024;
  }

  /**
   * POSTs `body` (bytes, or a string sent as UTF-8) to `url`. Rejects with TransientError on a network fault or when no full answer came within
   * `timeoutMs`; with the signal's reason when `signal` aborts.
   */
  async post(
    url: string,
    body: string | Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<PostAnswer> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    try {
      return await this.once(url, bytes, headers, timeoutMs, signal);
    } catch (err) {
      // A kept-alive connection the server closed just as it was reused: once more on a fresh one (as Node's docs
      // advise). The EHR's writes are conditional creates, so even a Bundle that did arrive is not written twice.
      if (err instanceof StaleSocketError) return this.once(url, bytes, headers, timeoutMs, signal);
      throw err;
    }
  }

  /** Frees the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private once(
    url: string,
    bytes: Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<PostAnswer> {
    signal?.throwIfAborted();
    const request = this.secure ? https.request : http.request;
    return new Promise<PostAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const req = request(url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, 'content-length': String(bytes.length) },
      });
      const timer = setTimeout(() => {
        finish(() => reject(new TransientError(`${describeUrl(url)}: no response within ${timeoutMs} ms`)));
        req.destroy();
      }, timeoutMs);
      const onAbort = (): void => {
        finish(() => reject(signal?.reason));
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) => {
        finish(() => {
          if (req.reusedSocket && err.code === 'ECONNRESET') reject(new StaleSocketError());
          else
            reject(
              new TransientError(`${describeUrl(url)}: network fault${err.code ? ` (${err.code})` : ''}`, {
                cause: err,
              }),
            );
        });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= this.maxReplyBytes) chunks.push(chunk);
        });
        res.on('error', (err: NodeJS.ErrnoException) => {
          finish(() =>
            reject(
              new TransientError(`${describeUrl(url)}: network fault${err.code ? ` (${err.code})` : ''}`, {
                cause: err,
              }),
            ),
          );
        });
        res.on('close', () => {
          // Closed before the end of the body: a dropped connection.
          if (!res.complete) {
            finish(() =>
              reject(new TransientError(`${describeUrl(url)}: network fault (connection closed mid-answer)`)),
            );
          }
        });
        res.on('end', () => {
          finish(() => {
            const status = res.statusCode ?? 0;
            resolve({
              status,
              ok: status >= 200 && status < 300,
              header: (name) => {
                const value = res.headers[name.toLowerCase()];
                return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
              },
              json: size <= this.maxReplyBytes ? parseJson(Buffer.concat(chunks, size)) : undefined,
            });
          });
        });
      });
      req.end(bytes);
    });
  }
}

/** A reused keep-alive connection that the server had closed: worth one immediate retry. */
class StaleSocketError extends Error {}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
