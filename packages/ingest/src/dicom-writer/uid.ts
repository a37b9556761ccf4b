/**
 * DICOM UIDs for written objects. Without a site root they use the `2.25.<UUID as a decimal integer>` form
 * (PS3.5 B.2), which needs no registration; with a root they are `<root>.1.<64-bit decimal>`.
 * UIDs are name-based (derived from the record's id and the UID's role), so writing the same record twice gives
 * the same instance: a re-sent file is recognised as the same object, as the Ecg id contract expects.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '@ecgcad/ecg';

/** The ecgcad namespace for name-based (RFC 4122 version 5) UUIDs. */
const ECGCAD_UUID_NAMESPACE = Buffer.from('6f1b3c52a1e84bd29a0c5e7d2f4b8a91', 'hex');

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

/** A version 5 UUID (SHA-1, ecgcad namespace) of `name`, as 32 hex digits. */
function nameBasedUuidHex(name: string): string {
  const hash = createHash('sha1').update(ECGCAD_UUID_NAMESPACE).update(name, 'utf8').digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  return hash.subarray(0, 16).toString('hex');
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
