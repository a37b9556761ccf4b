/**
 * Backpressure on real Redis: with no infer worker running, infer jobs pile up; once more than
 * backpressure.maxInferDepth wait, POST /ecg and STOW-RS answer 503 with Retry-After, and a C-STORE from dcmtk's
 * storescu gets 0xA700 (out of resources). Nothing refused this way lands in the rejected store.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueuedEngine } from '@ecgcad/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from './feeds-support.js';
import {
  API_KEY,
  dropPrefix,
  startTestEngine,
  stowBody,
  syntheticDicoms,
  uniquePrefix,
  waitFor,
} from './pipeline-support.js';
import { commandPresent } from './support/tools.js';

const MAX_DEPTH = 2;
const dcmtk = commandPresent('storescu');

describe('backpressure: feeds refuse while the infer queue is over its bound', () => {
  let engine: QueuedEngine & { tmp: string };
  let base: string;
  const prefix = uniquePrefix('backpressure');
  const bodies = syntheticDicoms(6, `bp-${prefix.slice(-9, -1)}`);

  beforeAll(async () => {
    engine = await startTestEngine({
      prefix,
      fhirUrl: 'http://127.0.0.1:9/unused',
      // No stage workers: nothing drains ecg.infer.
      stages: [],
      overrides: [{ path: ['backpressure'], value: { maxInferDepth: MAX_DEPTH, retryAfterS: 17 } }],
    });
    base = engine.http?.url as string;
  });

  afterAll(async () => {
    await engine?.close();
    await dropPrefix(prefix);
  });

  const post = (body: Uint8Array) =>
    fetch(`${base}/ecg`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom', 'x-api-key': API_KEY },
      body: Buffer.from(body),
    });

  it('takes ECGs up to the bound, then answers 503 + Retry-After on every feed', async () => {
    // Up to the bound (depth 0, 1, 2 seen before each): accepted. The depth reading is cached for 250 ms.
    for (const body of bodies.slice(0, MAX_DEPTH + 1)) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await post(body as Uint8Array)).status).toBe(202);
    }
    await waitFor('the infer backlog', async () => (await engine.queues.infer.getWaitingCount()) > MAX_DEPTH);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const busy = await post(bodies[MAX_DEPTH + 1] as Uint8Array);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('17');
    expect(await busy.json()).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'transient', diagnostics: expect.stringMatching(/engine busy/) }],
    });

    const stow = stowBody([bodies[MAX_DEPTH + 2] as Uint8Array]);
    const stowed = await fetch(`${base}/dicomweb/studies`, {
      method: 'POST',
      headers: { 'content-type': stow.contentType, 'x-api-key': API_KEY },
      body: stow.body,
    });
    expect(stowed.status).toBe(503);
    expect(stowed.headers.get('retry-after')).toBe('17');
    expect(await engine.queues.infer.getWaitingCount()).toBe(MAX_DEPTH + 1);
    expect(await readdir(join(engine.tmp, 'rejected'))).toHaveLength(0);
  });

  it.skipIf(!dcmtk)('answers a C-STORE with 0xA700 out of resources while over the bound', async () => {
    const file = join(engine.tmp, 'busy.dcm');
    await writeFile(file, bodies[MAX_DEPTH + 3] as Uint8Array);
    const { out } = await runTool('storescu', ['-d', '-aec', 'ECGCAD', '127.0.0.1', String(engine.dimse?.port), file]);
    expect(out).toMatch(/DIMSE Status\s+: 0xa700: Refused: Out of resources/);
    expect(out).toMatch(/\(0000,0902\) LO \[engine busy/);
    expect(await engine.queues.infer.getWaitingCount()).toBe(MAX_DEPTH + 1);
  });

  it('takes ECGs again once the backlog drains', async () => {
    await engine.queues.infer.drain();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await post(bodies[MAX_DEPTH + 1] as Uint8Array)).status).toBe(202);
  });
});
