/**
 * Keeps the bytes of every refused payload, for inspection and replay: nothing a sender gave us is silently dropped.
 * Layout: one directory, `<id>.bin` (the bytes as received) + `<id>.json` (what the feed knew and why it refused).
 * The JSON is written last, so an entry without it is an interrupted write and is ignored (and cleaned by `remove`).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LimitExceededError, MalformedInputError } from '@ecgcad/ecg';

/** Facts a feed records with a refused payload. No patient data: the sender's file name is the only free text. */
export interface RejectedMeta {
  feed: string;
  receivedAt: string;
  name?: string;
  contentType?: string;
  remote?: string;
}

/** Why the payload was refused. */
export interface RejectedReason {
  /** EcgcadError code, e.g. `MALFORMED`. */
  code: string;
  /** Patient-free message, as the sender was told. */
  message: string;
}

/** One stored refusal (the `<id>.json` file). */
export interface RejectedEntry extends RejectedMeta {
  /** Time-sortable id: `<UTC yyyymmddThhmmssSSSZ>-<sequence>-<sha256 prefix>`. */
  id: string;
  rejectedAt: string;
  reason: RejectedReason;
  /** Hex sha256 of the bytes. */
  sha256: string;
  size: number;
}

const ID_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{6}-[0-9a-f]{16}$/;

/** A directory of refused payloads. Create with {@link RejectedStore.open}. */
export class RejectedStore {
  readonly dir: string;
  #sequence = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens (creating if needed) the store in `dir`. */
  static async open(dir: string): Promise<RejectedStore> {
    await mkdir(dir, { recursive: true });
    return new RejectedStore(dir);
  }

  /** Stores refused bytes with their metadata; returns the entry. Each file is written to a temp name, then renamed. */
  async put(bytes: Uint8Array, meta: RejectedMeta, reason: RejectedReason, now = new Date()): Promise<RejectedEntry> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    this.#sequence = (this.#sequence + 1) % 0x1000000;
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
    const id = `${stamp}-${this.#sequence.toString(16).padStart(6, '0')}-${sha256.slice(0, 16)}`;
    const entry: RejectedEntry = {
      id,
      feed: meta.feed,
      receivedAt: meta.receivedAt,
      ...(meta.name === undefined ? {} : { name: meta.name }),
      ...(meta.contentType === undefined ? {} : { contentType: meta.contentType }),
      ...(meta.remote === undefined ? {} : { remote: meta.remote }),
      rejectedAt: now.toISOString(),
      reason: { code: reason.code, message: reason.message },
      sha256,
      size: bytes.byteLength,
    };
    await this.#writeAtomic(`${id}.bin`, bytes);
    await this.#writeAtomic(`${id}.json`, `${JSON.stringify(entry, null, 2)}\n`);
    return entry;
  }

  /** All complete entries, oldest first (ids sort by time). `limit` keeps the newest ones. */
  async list(options: { limit?: number } = {}): Promise<RejectedEntry[]> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json') && ID_PATTERN.test(n.slice(0, -5)));
    names.sort();
    const chosen = options.limit === undefined ? names : names.slice(Math.max(0, names.length - options.limit));
    const entries: RejectedEntry[] = [];
    for (const name of chosen) {
      const entry = await this.#readEntry(name.slice(0, -5));
      if (entry) entries.push(entry);
    }
    return entries;
  }

  /** One entry with its bytes, or undefined when there is none with that id. */
  async get(id: string): Promise<{ entry: RejectedEntry; bytes: Uint8Array } | undefined> {
    checkId(id);
    const entry = await this.#readEntry(id);
    if (!entry) return undefined;
    try {
      return { entry, bytes: new Uint8Array(await readFile(join(this.dir, `${id}.bin`))) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Deletes an entry (after replay or inspection). True when something was removed. */
  async remove(id: string): Promise<boolean> {
    checkId(id);
    const existed = (await this.#readEntry(id)) !== undefined;
    // JSON first: a half-removed entry then reads as absent rather than as an entry without bytes.
    await rm(join(this.dir, `${id}.json`), { force: true });
    await rm(join(this.dir, `${id}.bin`), { force: true });
    return existed;
  }

  async #readEntry(id: string): Promise<RejectedEntry | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as RejectedEntry;
    } catch (err) {
      if (isNotFound(err) || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  async #writeAtomic(name: string, data: Uint8Array | string): Promise<void> {
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, data, { flag: 'w' });
    await rename(tmp, join(this.dir, name));
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || id.length > 64) throw new LimitExceededError('rejected-store id too long');
  if (!ID_PATTERN.test(id)) throw new MalformedInputError('rejected-store', 'not a rejected-store id');
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
