/**
 * DICOM UIDs for written objects. Without a site root they use the `2.25.<UUID as a decimal integer>` form
 * (PS3.5 B.2), which needs no registration; with a root they are `<root>.1.<64-bit decimal>`.
 * UIDs are name-based (derived from the record's id and the UID's role), so writing the same record twice gives
 * the same instance: a re-sent file is recognised as the same object, as the Ecg id contract expects.
 */
import { ConfigError } from '@ecgcad/ecg';
import { v5 } from 'uuid';

/** The ecgcad namespace for name-based (RFC 9562 version 5) UUIDs of DICOM and aECG objects. */
const ECGCAD_UUID_NAMESPACE = '6f1b3c52-a1e8-4bd2-9a0c-5e7d2f4b8a91';

/** ecgcad's Implementation Class UID when no site root is configured (a fixed 2.25 UUID UID). */
export const ECGCAD_IMPLEMENTATION_CLASS_UID = '2.25.272490099822139803263812910024052822894';

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/** True for a syntactically valid DICOM UID (digits and dots, no leading zeros, at most 64 characters). */
export function isValidUid(value: string): boolean {
  return value.length > 0 && value.length <= 64 && UID_PATTERN.test(value);
}

/** Checks a site UID root; the longest derived UID is root + 23 characters. */
export function checkUidRoot(root: string): void {
  if (!isValidUid(root) || root.length > 40) {
    throw new ConfigError([`uidRoot must be a valid DICOM UID of at most 40 characters, got ${JSON.stringify(root)}`]);
  }
}

const utf8 = new TextEncoder();

/**
 * A version 5 UUID (SHA-1, ecgcad namespace) of `name`, as 32 hex digits. The name goes in as UTF-8 bytes: the
 * `uuid` package's own string conversion throws on a lone surrogate.
 */
function nameBasedUuidHex(name: string): string {
  return Buffer.from(v5(utf8.encode(name), ECGCAD_UUID_NAMESPACE, new Uint8Array(16))).toString('hex');
}

/** A UID derived from `name`: under `root` when given, else in the 2.25 UUID form. */
export function derivedUid(name: string, root?: string): string {
  const hex = nameBasedUuidHex(name);
  if (root === undefined) return `2.25.${BigInt(`0x${hex}`).toString()}`;
  return `${root}.1.${BigInt(`0x${hex.slice(0, 16)}`).toString()}`;
}

/** The Implementation Class UID for files written under `root` (or ecgcad's own without a root). */
export function implementationClassUid(root?: string): string {
  return root === undefined ? ECGCAD_IMPLEMENTATION_CLASS_UID : `${root}.0`;
}
