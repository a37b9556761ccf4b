/**
 * The audit trail's records: FHIR R4 AuditEvents in the spirit of IHE ATNA (DICOM PS3.15 A.5 audit messages) and
 * IHE BALP, one per received ECG, refused payload, result written to the EHR, and dead-letter replay. Pure: the
 * engine supplies the facts ({@link AuditFact}), the sinks deliver.
 *
 * Who, what, when, and never patient data: the sender is an AE title and address, an API key id (a hash prefix,
 * never the key), a client certificate subject, or the drop folder; the object is the ECG id (SOP Instance UID,
 * aECG id or `sha256:<hex>` of the bytes), never a name, patient id or birth date.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle, Coding } from '@medplum/fhirtypes';
import { ECGCAD_FHIR_BASE, SYSTEMS } from './codes.js';

/** Code systems of the audit trail. */
export const AUDIT_SYSTEMS = {
  dcm: 'http://dicom.nema.org/resources/ontology/DCM',
  eventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  restful: 'http://hl7.org/fhir/restful-interaction',
  entityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  sourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  /** The ecgcad event kinds (subtype), so every event is found by one code. */
  ecgcadEvent: `${ECGCAD_FHIR_BASE}/CodeSystem/audit-event`,
  /** API key ids (sha256 prefix of the key). */
  apiKeyId: `${ECGCAD_FHIR_BASE}/sid/api-key`,
  aeTitle: 'urn:dicom:ae-title',
} as const;

/** Who sent or asked for something. Every field is optional; the builder uses what is known. */
export interface AuditActor {
  /** DICOM calling AE title. */
  aeTitle?: string;
  /** Network address (IP) of the peer. */
  address?: string;
  /** Id of the API key used (a hash prefix), never the key. */
  apiKeyId?: string;
  /** Subject of a verified TLS client certificate. */
  certSubject?: string;
  /** Drop folder path (folder feed). */
  folder?: string;
  /** An operator or process by name (e.g. `ecgcad dlq replay` and the OS user). */
  name?: string;
}

/** One auditable fact, as the engine knows it. */
export type AuditFact =
  | {
      kind: 'received';
      /** Feed: `cstore`, `stow`, `http`, `folder`. */
      feed: string;
      at: string;
      sender: AuditActor;
      ecgId: string;
      /** An idempotent resend of an ECG already taken. */
      duplicate?: boolean;
    }
  | {
      kind: 'refused';
      feed: string;
      at: string;
      sender: AuditActor;
      /** Hex sha256 of the refused bytes (the ECG id is often unknown when decoding fails). */
      sha256?: string;
      ecgId?: string;
      /** Refusal code and patient-free reason (`MALFORMED: ...`). */
      reason: string;
      /** Id in the rejected store, when the bytes were kept. */
      rejectedId?: string;
    }
  | {
      kind: 'written';
      at: string;
      ecgId: string;
      /** EHR base URL, or `file` for Bundle files. */
      target: string;
      /** True when the write failed for good (dead-lettered). */
      failed?: boolean;
      reason?: string;
    }
  | {
      kind: 'replayed';
      at: string;
      /** Queue and job id replayed. */
      queue: string;
      jobId: string;
      ecgId?: string;
      operator: AuditActor;
    };

/** What this engine is called in audit records (the observer and the receiving or sending side). */
export interface AuditSelf {
  /** Name of this engine (default `ecgcad`). */
  name?: string;
  /** This engine's AE title, for DICOM receipts. */
  aeTitle?: string;
  /** Site name (source.site). */
  site?: string;
}

const DICOM_FEEDS = new Set(['cstore', 'stow']);

const dcm = (code: string, display: string): Coding => ({ system: AUDIT_SYSTEMS.dcm, code, display });
const SOURCE_ROLE = dcm('110153', 'Source Role ID');
const DESTINATION_ROLE = dcm('110152', 'Destination Role ID');

/** Whether `address` is an IP address (network.type 2) or a name (1). */
function networkOf(address: string | undefined): AuditEventAgent['network'] | undefined {
  if (!address) return undefined;
  const ip = /^[0-9.]+$/.test(address) || address.includes(':');
  return { address, type: ip ? '2' : '1' };
}

function actorAgent(actor: AuditActor, role: Coding, requestor: boolean): AuditEventAgent {
  const network = networkOf(actor.address);
  let who: AuditEventAgent['who'];
  if (actor.aeTitle)
    who = { identifier: { system: AUDIT_SYSTEMS.aeTitle, value: actor.aeTitle }, display: `AE ${actor.aeTitle}` };
  else if (actor.apiKeyId)
    who = {
      identifier: { system: AUDIT_SYSTEMS.apiKeyId, value: actor.apiKeyId },
      display: `API key ${actor.apiKeyId}`,
    };
  else if (actor.certSubject) who = { display: `client certificate ${actor.certSubject}` };
  else if (actor.folder) who = { display: `drop folder ${actor.folder}` };
  else if (actor.name) who = { display: actor.name };
  else who = { display: actor.address ? `peer ${actor.address}` : 'unknown sender' };
  return {
    type: { coding: [role] },
    who,
    requestor,
    ...(actor.aeTitle && actor.apiKeyId ? { altId: actor.apiKeyId } : {}),
    ...(network ? { network } : {}),
  };
}

function selfAgent(self: AuditSelf, role: Coding, network?: AuditEventAgent['network']): AuditEventAgent {
  const name = self.name ?? 'ecgcad';
  return {
    type: { coding: [role] },
    who: self.aeTitle
      ? { identifier: { system: AUDIT_SYSTEMS.aeTitle, value: self.aeTitle }, display: name }
      : { display: name },
    requestor: false,
    ...(network ? { network } : {}),
  };
}

function ecgEntity(ecgId: string): AuditEventEntity {
  return {
    what: { identifier: { system: SYSTEMS.ecgId, value: ecgId } },
    type: { system: AUDIT_SYSTEMS.entityType, code: '2', display: 'System Object' },
    role: { system: AUDIT_SYSTEMS.objectRole, code: '3', display: 'Report' },
  };
}

function bytesEntity(sha256: string): AuditEventEntity {
  return {
    what: { identifier: { system: 'urn:ietf:rfc:3986', value: `urn:sha256:${sha256}` } },
    type: { system: AUDIT_SYSTEMS.entityType, code: '2', display: 'System Object' },
    role: { system: AUDIT_SYSTEMS.objectRole, code: '3', display: 'Report' },
  };
}

const subtype = (code: AuditFact['kind']): Coding => ({ system: AUDIT_SYSTEMS.ecgcadEvent, code });

/** The AuditEvent for one fact. `recorded` defaults to now. */
export function buildAuditEvent(
  fact: AuditFact,
  self: AuditSelf = {},
  recorded = new Date().toISOString(),
): AuditEvent {
  const source: AuditEvent['source'] = {
    observer: { display: self.name ?? 'ecgcad' },
    type: [{ system: AUDIT_SYSTEMS.sourceType, code: '4', display: 'Application Server' }],
    ...(self.site ? { site: self.site } : {}),
  };
  const base = { resourceType: 'AuditEvent' as const, recorded, source };
  switch (fact.kind) {
    case 'received':
    case 'refused': {
      // DICOM feeds: PS3.15 "DICOM Instances Transferred" (C: the engine did not hold it before; R: a resend).
      // Other feeds: "Import" (data imported from outside).
      const type = DICOM_FEEDS.has(fact.feed) ? dcm('110104', 'DICOM Instances Transferred') : dcm('110107', 'Import');
      const refused = fact.kind === 'refused';
      const entity: AuditEventEntity[] = [];
      if (fact.ecgId) entity.push(ecgEntity(fact.ecgId));
      if (refused && fact.sha256) entity.push(bytesEntity(fact.sha256));
      const details = refused && fact.rejectedId ? [{ type: 'rejectedId', valueString: fact.rejectedId }] : [];
      if (details.length > 0 && entity.length > 0) (entity[entity.length - 1] as AuditEventEntity).detail = details;
      return {
        ...base,
        type,
        subtype: [subtype(fact.kind), { system: AUDIT_SYSTEMS.ecgcadEvent, code: `feed-${fact.feed}` }],
        action: !refused && fact.duplicate ? 'R' : 'C',
        period: { start: fact.at, end: fact.at },
        outcome: refused ? '4' : '0',
        ...(refused ? { outcomeDesc: fact.reason } : {}),
        agent: [actorAgent(fact.sender, SOURCE_ROLE, true), selfAgent(self, DESTINATION_ROLE)],
        ...(entity.length > 0 ? { entity } : {}),
      };
    }
    case 'written':
      // BALP "Create" pattern (RESTful create of the results) as seen by the client, under ATNA's "Export".
      return {
        ...base,
        type: dcm('110106', 'Export'),
        subtype: [subtype('written'), { system: AUDIT_SYSTEMS.restful, code: 'create', display: 'create' }],
        action: 'C',
        period: { start: fact.at, end: fact.at },
        outcome: fact.failed ? '8' : '0',
        ...(fact.failed && fact.reason ? { outcomeDesc: fact.reason } : {}),
        agent: [
          selfAgent(self, SOURCE_ROLE),
          {
            type: { coding: [DESTINATION_ROLE] },
            who: { display: fact.target === 'file' ? 'Bundle files' : fact.target },
            requestor: false,
            ...(fact.target === 'file' ? {} : { network: { address: fact.target, type: '5' } }),
          },
        ],
        entity: [ecgEntity(fact.ecgId)],
      };
    case 'replayed':
      // An operator re-processes a stored instance: "DICOM Instances Accessed", Update.
      return {
        ...base,
        type: dcm('110103', 'DICOM Instances Accessed'),
        subtype: [subtype('replayed')],
        action: 'U',
        period: { start: fact.at, end: fact.at },
        outcome: '0',
        agent: [actorAgent(fact.operator, dcm('110150', 'Application'), true), selfAgent(self, DESTINATION_ROLE)],
        entity: [
          ...(fact.ecgId ? [ecgEntity(fact.ecgId)] : []),
          {
            what: { identifier: { system: `${ECGCAD_FHIR_BASE}/sid/job`, value: `${fact.queue}/${fact.jobId}` } },
            type: { system: AUDIT_SYSTEMS.entityType, code: '2', display: 'System Object' },
            role: { system: AUDIT_SYSTEMS.objectRole, code: '20', display: 'Job' },
          },
        ],
      };
  }
}

/** A transaction Bundle that creates the given AuditEvents (the EHR audit sink posts these, apart from results). */
export function auditBundle(events: AuditEvent[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: events.map((resource) => ({
      fullUrl: `urn:uuid:${crypto.randomUUID()}`,
      resource,
      request: { method: 'POST', url: 'AuditEvent' },
    })),
  };
}
