/**
 * Shared pieces of the feed tests: a real intake over the decoder, temp dirs, and a runner for dcmtk tools.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MalformedInputError, TransientError, UnsupportedFormatError } from '@ecgcad/ecg';
import type { Intake, IntakeMeta, IntakeReceipt } from '../packages/ingest/src/feeds/intake.js';
import { readPart10Meta } from '../packages/ingest/src/feeds/part10.js';

/** What the test intake saw. */
export interface Taken {
  bytes: Uint8Array;
  meta: IntakeMeta;
  receipt: IntakeReceipt;
}

/**
 * An intake that checks the bytes the way the decoder's sniffing does (DICOM Part 10 with a WaveformSequence, or an
 * AnnotatedECG XML root) and records what it took. `mode` lets a test make it fail transiently.
 */
export function recordingIntake(): { intake: Intake; taken: Taken[]; control: { mode: 'ok' | 'transient' } } {
  const taken: Taken[] = [];
  const control: { mode: 'ok' | 'transient' } = { mode: 'ok' };
  const seen = new Set<string>();
  const intake: Intake = async (bytes, meta) => {
    if (control.mode === 'transient') throw new TransientError('queue unavailable', { retryAfterMs: 2000 });
    let ecgId: string;
    const dicom = readPart10Meta(bytes);
    if (dicom) {
      if (!containsTag(bytes, 0x5400, 0x0100))
        throw new MalformedInputError('dicom', 'no WaveformSequence', '(5400,0100)');
      ecgId = dicom.sopInstanceUid ?? 'unknown';
    } else {
      const head = new TextDecoder().decode(bytes.subarray(0, 4096));
      if (!/<(\w+:)?AnnotatedECG[\s>]/.test(head))
        throw new UnsupportedFormatError('unknown', 'not DICOM Part 10 or HL7 aECG');
      if (!/<series[\s>]/.test(new TextDecoder().decode(bytes))) {
        throw new MalformedInputError('aecg', 'no RHYTHM series', '/AnnotatedECG/component/series');
      }
      ecgId = /<id\s+root="([^"]+)"/.exec(head)?.[1] ?? 'aecg';
    }
    const receipt: IntakeReceipt = { ecgId, ...(seen.has(ecgId) ? { duplicate: true } : {}) };
    seen.add(ecgId);
    taken.push({ bytes, meta, receipt });
    return receipt;
  };
  return { intake, taken, control };
}

/** True when the explicit- or implicit-VR little-endian tag bytes occur in the data. */
function containsTag(bytes: Uint8Array, group: number, element: number): boolean {
  const needle = [group & 0xff, group >> 8, element & 0xff, element >> 8];
  outer: for (let i = 132; i + 4 <= bytes.byteLength; i++) {
    for (let j = 0; j < 4; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
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
