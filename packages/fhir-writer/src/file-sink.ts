/**
 * FileSink: one Bundle JSON per ECG and model version in a folder, for embedded mode and offline sites.
 * Writes are atomic (temp file in the same folder, then rename), so a reader never sees half a Bundle and a
 * resend replaces the file with identical content.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError, TransientError } from '@ecgcad/ecg';
import type { Bundle, Device, Observation } from '@medplum/fhirtypes';
import { LOINC_12_LEAD_EKG, SYSTEMS } from './codes.js';
import { serializeBundle } from './serialize.js';
import type { BundleSink, DeliveredEntry, DeliveryResult } from './sink.js';

/** Options of FileSink. */
export interface FileSinkOptions {
  /** Folder the Bundles go to; created when missing. */
  dir: string;
}

/** Writes each Bundle to `<dir>/<ecg id>__<model id>@<version>.json` (unsafe characters replaced). */
export class FileSink implements BundleSink {
  readonly dir: string;
  /** The folder made once (a backfill delivers thousands of Bundles); reset when it has gone missing since. */
  private folder: Promise<unknown> | undefined;

  constructor(options: FileSinkOptions) {
    this.dir = options.dir;
  }

  /**
   * Not async, as FhirClient.postTransaction: the Bundle is made into bytes and its entries' types are read before
   * the file is written, so it is not kept alive while the write waits.
   */
  deliver(bundle: Bundle): Promise<DeliveryResult> {
    try {
      const path = join(this.dir, bundleFileName(bundle));
      const text = serializeBundle(bundle, { indent: 2, newline: true });
      const entries = (bundle.entry ?? []).map((e) => ({
        resourceType: e.resource?.resourceType ?? 'unknown',
        status: 'written',
      }));
      return this.write(path, text, entries);
    } catch (err) {
      // As an async function would: a Bundle that cannot be written is a rejected promise, never a throw.
      return Promise.reject(err);
    }
  }

  private async write(path: string, text: Buffer, entries: DeliveredEntry[]): Promise<DeliveryResult> {
    const tmp = join(this.dir, `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      try {
        await this.makeFolder();
        await writeFile(tmp, text, { flag: 'wx' });
      } catch (err) {
        // Someone removed the folder after it was made: make it again, once.
        if ((err as { code?: string }).code !== 'ENOENT') throw err;
        this.folder = undefined;
        await this.makeFolder();
        await writeFile(tmp, text, { flag: 'wx' });
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      const code = (err as { code?: string }).code ?? 'unknown';
      // Full disks and busy files may clear; a missing permission or a bad path will not.
      if (['ENOSPC', 'EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE', 'EIO'].includes(code)) {
        throw new TransientError(`file sink: cannot write a Bundle (${code})`, { cause: err });
      }
      throw new PermanentError(`file sink: cannot write a Bundle (${code})`, { cause: err });
    }
    return { sink: 'file', target: path, entries, created: entries.length, existing: 0 };
  }

  private makeFolder(): Promise<unknown> {
    this.folder ??= mkdir(this.dir, { recursive: true }).catch((err: unknown) => {
      this.folder = undefined; // a failure is not remembered: the next Bundle tries again
      throw err;
    });
    return this.folder;
  }
}

/** The file name for a Bundle: ECG identifier value + model id@version, from the Bundle's own resources. */
export function bundleFileName(bundle: Bundle): string {
  const resources = (bundle.entry ?? []).map((e) => e.resource);
  const ecg = resources.find(
    (r): r is Observation =>
      r?.resourceType === 'Observation' && !!r.code.coding?.some((c) => c.code === LOINC_12_LEAD_EKG.code),
  );
  const device = resources.find((r): r is Device => r?.resourceType === 'Device');
  const ecgId = ecg?.identifier?.[0]?.value?.replace(/^urn:oid:/, '');
  const modelId = device?.identifier?.find((i) => i.system === SYSTEMS.modelId)?.value;
  if (!ecgId || !modelId) throw new PermanentError('file sink: the Bundle has no ECG Observation or model Device');
  const name = `${safe(ecgId)}__${safe(modelId)}`;
  if (name.length <= 200) return `${name}.json`;
  const hash = createHash('sha256').update(`${ecgId}\u0000${modelId}`).digest('hex').slice(0, 16);
  return `${name.slice(0, 180)}-${hash}.json`;
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._@-]/g, '_').replace(/^\.+/, '_');
}
