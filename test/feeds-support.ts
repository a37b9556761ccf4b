/**
 * Shared pieces of the feed tests: a real intake over the decoder, temp dirs, and a runner for dcmtk tools.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Ecg, TransientError } from '@ecgcad/ecg';
import { decodeEcg } from '../packages/ingest/src/decode.js';
import type { Intake, IntakeMeta, IntakeReceipt } from '../packages/ingest/src/feeds/intake.js';

/** What the test intake saw. */
export interface Taken {
  bytes: Uint8Array;
  meta: IntakeMeta;
  receipt: IntakeReceipt;
  ecg: Ecg;
}

/**
 * A real intake over the decoder (what the embedded runner does, minus the pipeline): decode, remember, and say
 * whether the ECG was taken before. `control.mode = 'transient'` makes it fail as if Redis were down.
 */
export function recordingIntake(): { intake: Intake; taken: Taken[]; control: { mode: 'ok' | 'transient' } } {
  const taken: Taken[] = [];
  const control: { mode: 'ok' | 'transient' } = { mode: 'ok' };
  const seen = new Set<string>();
  const intake: Intake = async (bytes, meta) => {
    if (control.mode === 'transient') throw new TransientError('queue unavailable', { retryAfterMs: 2000 });
    const ecg = decodeEcg(bytes, { feed: meta.feed, receivedAt: meta.receivedAt, sha256: meta.sha256 });
    const receipt: IntakeReceipt = { ecgId: ecg.id, ...(seen.has(ecg.id) ? { duplicate: true } : {}) };
    seen.add(ecg.id);
    taken.push({ bytes, meta, receipt, ecg });
    return receipt;
  };
  return { intake, taken, control };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ecgcad-${prefix}-`));
}

/** Runs a dcmtk tool with TCP_NODELAY=1; never rejects, returns exit code and combined output. */
export function runTool(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, TCP_NODELAY: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Writes a dcmtk text dump and converts it with dump2dcm to a Part 10 file; returns the file path. */
export async function dumpToDicom(dir: string, name: string, dump: string): Promise<string> {
  const dumpPath = join(dir, `${name}.dump`);
  const dcmPath = join(dir, `${name}.dcm`);
  await writeFile(dumpPath, dump);
  const { code, out } = await runTool('dump2dcm', ['-q', dumpPath, dcmPath]);
  if (code !== 0) throw new Error(`dump2dcm failed: ${out}`);
  return dcmPath;
}
