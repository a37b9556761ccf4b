import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransientError } from '@ecgcad/ecg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpPoster } from './http-post.js';

/** What the test server does with the next requests, in order (then `ok`). */
type Act = 'ok' | 'slow' | 'drop' | 'big' | 'text' | 'cut';

describe('HttpPoster', () => {
  const acts: Act[] = [];
  const seen: Array<{ body: string; headers: http.IncomingHttpHeaders; socket: unknown }> = [];
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, socket: req.socket });
        const act = acts.shift() ?? 'ok';
        if (act === 'drop') return req.socket.destroy();
        if (act === 'slow') return setTimeout(() => res.end('{}'), 300);
        if (act === 'text') return res.end('not json');
        if (act === 'cut') {
          res.writeHead(200, { 'content-length': '100' });
          res.write('{"a":');
          return setTimeout(() => req.socket.destroy(), 20);
        }
        const body = act === 'big' ? JSON.stringify({ x: 'y'.repeat(2000) }) : JSON.stringify({ echo: req.headers.x });
        res.writeHead(201, { 'content-type': 'application/json', 'retry-after': '7' });
        res.end(body);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
  });

  it('posts the body with its length and headers and reads the JSON answer, status and headers', async () => {
    const poster = new HttpPoster(url);
    const answer = await poster.post(url, '{"é":1}', { 'content-type': 'application/json', x: 'h' }, 5000);
    expect(answer).toMatchObject({ status: 201, ok: true, json: { echo: 'h' } });
    expect(answer.header('Retry-After')).toBe('7');
    expect(answer.header('x-none')).toBeNull();
    const last = seen.at(-1);
    expect(last?.body).toBe('{"é":1}');
    expect(last?.headers['content-length']).toBe(String(Buffer.byteLength('{"é":1}')));
    // Kept alive: the next post comes over the same connection.
    await poster.post(url, '{}', {}, 5000);
    expect(seen.at(-1)?.socket).toBe(last?.socket);
    poster.close();
  });

  it('reads an answer that is not JSON, or over the cap, as undefined', async () => {
    const poster = new HttpPoster(url, { maxReplyBytes: 1000 });
    acts.push('text', 'big');
    expect((await poster.post(url, '{}', {}, 5000)).json).toBeUndefined();
    expect((await poster.post(url, '{}', {}, 5000)).json).toBeUndefined();
    poster.close();
  });

  it('fails with TransientError on a timeout, a dropped connection and an answer cut short', async () => {
    const poster = new HttpPoster(url);
    acts.push('slow');
    await expect(poster.post(url, '{}', {}, 100)).rejects.toThrow(/no response within 100 ms/);
    const fresh = new HttpPoster(url);
    acts.push('drop');
    const dropped = await fresh.post(url, '{}', {}, 5000).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(TransientError);
    expect((dropped as Error).message).toMatch(/network fault/);
    acts.push('cut');
    await expect(new HttpPoster(url).post(url, '{}', {}, 5000)).rejects.toThrow(TransientError);
    const refused = new HttpPoster('http://127.0.0.1:9/');
    await expect(refused.post('http://127.0.0.1:9/', '{}', {}, 5000)).rejects.toThrow(/network fault \(ECONNREFUSED\)/);
    poster.close();
    fresh.close();
  });

  it('posts once more on a fresh connection when a kept-alive one turns out closed', async () => {
    const poster = new HttpPoster(url);
    await poster.post(url, '{}', {}, 5000);
    const before = seen.length;
    acts.push('drop');
    const answer = await poster.post(url, '{"again":1}', {}, 5000);
    expect(answer.status).toBe(201);
    expect(seen.length - before).toBe(2);
    expect(seen.at(-1)?.socket).not.toBe(seen.at(-2)?.socket);
    poster.close();
  });

  it("rejects with the caller's reason when its signal aborts", async () => {
    const poster = new HttpPoster(url);
    const controller = new AbortController();
    acts.push('slow');
    const pending = poster.post(url, '{}', {}, 5000, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(pending).rejects.toThrow('stop');
    await expect(poster.post(url, '{}', {}, 5000, controller.signal)).rejects.toThrow('stop');
    poster.close();
  });
});
