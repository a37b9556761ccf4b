import { describe, expect, it } from 'vitest';
import { AUDIT_SYSTEMS, type AuditFact, auditBundle, buildAuditEvent } from './audit.js';
import { SYSTEMS } from './codes.js';
import { structuralIssues } from './validate.js';

const AT = '2026-03-01T10:00:00.000Z';
const UID = '1.2.826.0.1.3680043.8.498.1';

const facts: Record<AuditFact['kind'] | 'received-http' | 'refused-folder', AuditFact> = {
  received: { kind: 'received', feed: 'cstore', at: AT, ecgId: UID, sender: { aeTitle: 'CART7', address: '10.1.2.3' } },
  'received-http': {
    kind: 'received',
    feed: 'http',
    at: AT,
    ecgId: UID,
    sender: { apiKeyId: 'k-3f2a9c', address: '10.1.2.4' },
    duplicate: true,
  },
  refused: {
    kind: 'refused',
    feed: 'stow',
    at: AT,
    sender: { address: '10.1.2.5', certSubject: 'cart-gateway' },
    sha256: 'ab'.repeat(32),
    reason: 'MALFORMED: not a DICOM file',
    rejectedId: '20260301T100000000Z-000001-abababababababab',
  },
  'refused-folder': {
    kind: 'refused',
    feed: 'folder',
    at: AT,
    sender: { folder: '/data/drop' },
    reason: 'LIMIT_EXCEEDED: too big',
  },
  written: { kind: 'written', at: AT, ecgId: UID, target: 'https://ehr.example.org/fhir' },
  replayed: {
    kind: 'replayed',
    at: AT,
    queue: 'ecg.write',
    jobId: 'job-1',
    ecgId: UID,
    operator: { name: 'ecgcad dlq replay (ops)' },
  },
};

describe('buildAuditEvent', () => {
  it.each(Object.entries(facts))('%s: a valid R4 AuditEvent', (_name, fact) => {
    const event = buildAuditEvent(fact, { aeTitle: 'ECGCAD' }, AT);
    expect(structuralIssues(event)).toEqual([]);
    expect(event.recorded).toBe(AT);
    expect(event.period).toEqual({ start: AT, end: AT });
    expect(event.subtype?.[0]).toEqual({ system: AUDIT_SYSTEMS.ecgcadEvent, code: fact.kind });
  });

  it('the validator does catch a broken AuditEvent (so the checks above can fail)', () => {
    const event = buildAuditEvent(facts.received, {}, AT);
    const broken = { ...event, agent: event.agent.map(({ requestor: _r, ...rest }) => rest), outcome: 'x' };
    expect(structuralIssues(broken as typeof event).length).toBeGreaterThan(0);
  });

  it('a C-STORE receipt says who (calling AE and address), what (the SOP Instance UID) and when', () => {
    const event = buildAuditEvent(facts.received, { aeTitle: 'ECGCAD' }, AT);
    expect(event.type).toMatchObject({ system: AUDIT_SYSTEMS.dcm, code: '110104' });
    expect(event.action).toBe('C');
    expect(event.outcome).toBe('0');
    const [source, destination] = event.agent;
    expect(source).toMatchObject({
      type: { coding: [{ code: '110153' }] },
      who: { identifier: { system: AUDIT_SYSTEMS.aeTitle, value: 'CART7' } },
      requestor: true,
      network: { address: '10.1.2.3', type: '2' },
    });
    expect(destination?.who?.identifier?.value).toBe('ECGCAD');
    expect(event.entity?.[0]?.what?.identifier).toEqual({ system: SYSTEMS.ecgId, value: UID });
  });

  it('an HTTP receipt names the API key id; a resend is a Read', () => {
    const event = buildAuditEvent(facts['received-http'], {}, AT);
    expect(event.type?.code).toBe('110107');
    expect(event.action).toBe('R');
    expect(event.agent[0]?.who?.identifier).toEqual({ system: AUDIT_SYSTEMS.apiKeyId, value: 'k-3f2a9c' });
  });

  it('a refusal is a minor failure with its reason, the bytes by hash and the rejected-store id', () => {
    const event = buildAuditEvent(facts.refused, {}, AT);
    expect(event.outcome).toBe('4');
    expect(event.outcomeDesc).toBe('MALFORMED: not a DICOM file');
    expect(event.agent[0]?.who?.display).toBe('client certificate cart-gateway');
    expect(event.entity?.[0]?.what?.identifier?.value).toBe(`urn:sha256:${'ab'.repeat(32)}`);
    expect(event.entity?.[0]?.detail).toEqual([
      { type: 'rejectedId', valueString: facts.refused.kind === 'refused' ? facts.refused.rejectedId : '' },
    ]);
    expect(buildAuditEvent(facts['refused-folder'], {}, AT).agent[0]?.who?.display).toBe('drop folder /data/drop');
  });

  it('a write is an Export (BALP create) to the EHR; a failed one is a serious failure', () => {
    const event = buildAuditEvent(facts.written, {}, AT);
    expect(event.type?.code).toBe('110106');
    expect(event.agent[1]).toMatchObject({ network: { address: 'https://ehr.example.org/fhir', type: '5' } });
    const failed = buildAuditEvent(
      { kind: 'written', at: AT, ecgId: UID, target: 'file', failed: true, reason: 'PERMANENT: 400' },
      {},
      AT,
    );
    expect(failed.outcome).toBe('8');
    expect(structuralIssues(failed)).toEqual([]);
  });

  it('a replay names the operator and the job', () => {
    const event = buildAuditEvent(facts.replayed, {}, AT);
    expect(event.agent[0]?.who?.display).toBe('ecgcad dlq replay (ops)');
    expect(event.entity?.map((e) => e.what?.identifier?.value)).toEqual([UID, 'ecg.write/job-1']);
  });

  it('auditBundle: a valid transaction that creates each AuditEvent', () => {
    const bundle = auditBundle(Object.values(facts).map((f) => buildAuditEvent(f, {}, AT)));
    expect(bundle.entry).toHaveLength(6);
    expect(bundle.entry?.every((e) => e.request?.method === 'POST' && e.request.url === 'AuditEvent')).toBe(true);
    expect(structuralIssues(bundle)).toEqual([]);
  });
});
