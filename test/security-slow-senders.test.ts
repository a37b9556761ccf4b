/**
 * Slow and greedy senders against the real engine HTTP server: a slow-loris client trickling header bytes (never
 * idle) is cut off at the headers limit, one trickling its body at the request limit, while a normal client is
 * served meanwhile; beyond the in-flight cap a request gets 503 + Retry-After.
 */
import { connect, type Socket } from 'node:net';
import type { QueuedEngine } from '@ecgcad/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, dropPrefix, startTestEngine, syntheticDicoms, uniquePrefix } from './pipeline-support.js';

/** Opens a socket, writes `head`, then one byte of `drip` every `everyMs`; resolves when the server closes it. */
function trickle(
  port: number,
  head: string,
  drip: string,
  everyMs: number,
): { socket: Socket; closed: Promise<{ ms: number; answer: string }> } {
  const socket = connect(port, '127.0.0.1');
  const started = performance.now();
  let answer = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(head);
    let i = 0;
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip[i++ % drip.length] as string);
    }, everyMs);
  });
  socket.on('data', (chunk) => {
    answer += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<{ ms: number; answer: string }>((resolve) => {
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: performance.now() - started, answer });
    });
  });
  return { socket, closed };
}

describe('slow senders and the in-flight cap', () => {
  let engine: QueuedEngine & { tmp: string };
  let port: number;
  const prefix = uniquePrefix('slow');
  // Made before any clock starts: synthesis blocks the event loop for a moment.
  const [body] = syntheticDicoms(1, `slow-${prefix.slice(-9, -1)}`);

  beforeAll(async () => {
    engine = await startTestEngine({
      prefix,
      fhirUrl: 'http://127.0.0.1:9/unused',
      stages: [],
      overrides: [
        // Idle limit far above the others: what cuts the trickler must be the headers / request limit.
        { path: ['http', 'timeouts'], value: { headersMs: 1000, requestMs: 4000, idleMs: 60_000, keepAliveMs: 1000 } },
        { path: ['http', 'maxInFlight'], value: 2 },
        { path: ['backpressure', 'retryAfterS'], value: 9 },
      ],
    });
    port = engine.http?.port as number;
  });

  afterAll(async () => {
    await engine?.close();
    await dropPrefix(prefix);
  });

  it('cuts a slow-loris client off at the headers limit while a normal client is served', async () => {
    const loris = trickle(port, 'POST /ecg HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n', 100);
    const normal = await fetch(`http://127.0.0.1:${port}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
      body: Buffer.from(body as Uint8Array),
    });
    expect(normal.status).toBe(202);
    const { ms, answer } = await loris.closed;
    expect(ms).toBeGreaterThanOrEqual(900);
    // Well before the request limit (4 s): the headers limit cut it.
    expect(ms).toBeLessThan(3500);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('cuts a client trickling its body off at the request limit', async () => {
    const head = `POST /ecg HTTP/1.1\r\nHost: localhost\r\nx-api-key: ${API_KEY}\r\ncontent-type: application/dicom\r\ncontent-length: 100000\r\n\r\n`;
    const slowBody = trickle(port, head, 'x', 100);
    const { ms } = await slowBody.closed;
    expect(ms).toBeGreaterThanOrEqual(3900);
    expect(ms).toBeLessThan(8000);
  });

  it('answers 503 + Retry-After beyond the in-flight cap, and serves again once the slow requests end', async () => {
    const head = `POST /ecg HTTP/1.1\r\nHost: localhost\r\nx-api-key: ${API_KEY}\r\ncontent-type: application/dicom\r\ncontent-length: 100000\r\n\r\n`;
    const holders = [trickle(port, head, 'x', 200), trickle(port, head, 'x', 200)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('9');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    for (const holder of holders) holder.socket.destroy();
    await Promise.all(holders.map((h) => h.closed));
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  });
});
