/**
 * Deterministic identifiers. A resend of the same ECG through the same model version must produce the same
 * identifiers and fullUrls, so that conditional creates on the EHR recognise it.
 */
import type { EcgSummary } from '@ecgcad/ecg';
import type { Identifier } from '@medplum/fhirtypes';
import { v5 } from 'uuid';
import { SYSTEMS } from './codes.js';

/** Namespace uuid of the project for name-based (v5) uuids. */
export const ECGCAD_UUID_NAMESPACE = '6f0b5c3e-2a51-4d43-9c6e-3f9d2e7a1b54';

const utf8 = new TextEncoder();

/**
 * RFC 9562 version 5 (SHA-1, name-based) uuid of `name` in `namespace`. The name goes in as UTF-8 bytes: the
 * `uuid` package's own string conversion throws on a lone surrogate, which hostile input can carry.
 */
export function uuidV5(name: string, namespace: string = ECGCAD_UUID_NAMESPACE): string {
  return v5(utf8.encode(name), namespace);
}

const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a dotted-decimal OID / DICOM UID. */
export function isOid(s: string): boolean {
  return s.length <= 64 && OID.test(s);
}

/**
 * The identifier of the source ECG instance:
 * - DICOM: `urn:dicom:uid` | `urn:oid:<SOP Instance UID>`;
 * - aECG `root^extension`: `urn:oid:<root>` (or `urn:uuid:<root>`) | extension; aECG root only: `urn:ietf:rfc:3986` |
 *   `urn:oid:<root>`;
 * - anything else (sha256 ids, vendor XML, odd roots): the project system | the Ecg id.
 */
export function ecgSourceIdentifier(ecg: Pick<EcgSummary, 'id' | 'format'>): Identifier {
  const id = ecg.id;
  if (ecg.format === 'dicom' && isOid(id)) return { system: SYSTEMS.dicomUid, value: `urn:oid:${id}` };
  if (ecg.format === 'aecg') {
    const caret = id.indexOf('^');
    const root = caret < 0 ? id : id.slice(0, caret);
    const extension = caret < 0 ? '' : id.slice(caret + 1);
    const rootUri = isOid(root) ? `urn:oid:${root}` : UUID.test(root) ? `urn:uuid:${root.toLowerCase()}` : undefined;
    if (rootUri && extension) return { system: rootUri, value: extension };
    if (rootUri && !extension) return { system: SYSTEMS.uri, value: rootUri };
  }
  return { system: SYSTEMS.ecgId, value: id };
}

/** A FHIR search token `system|value`, each part percent-encoded (the bar stays literal). */
export function tokenQuery(identifier: Identifier): string {
  return `${encodeURIComponent(identifier.system ?? '')}|${encodeURIComponent(identifier.value ?? '')}`;
}

/** `identifier=system|value`: the ifNoneExist query of a resource with this identifier. */
export function identifierQuery(identifier: Identifier): string {
  return `identifier=${tokenQuery(identifier)}`;
}
