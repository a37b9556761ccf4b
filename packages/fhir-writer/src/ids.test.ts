import fc from 'fast-check';
import { v5 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from './codes.js';
import { ECGCAD_UUID_NAMESPACE, ecgSourceIdentifier, identifierQuery, isOid, uuidV5 } from './ids.js';

describe('uuidV5', () => {
  it('matches the RFC 9562 test vector (DNS namespace, www.example.com)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
  it('gives the ids it always gave (values pinned from the hand-written SHA-1 version)', () => {
    expect(uuidV5('result\u0000k\u0000role')).toBe('9d2e5b29-f041-521a-a7ab-89b328385e38');
    expect(uuidV5('subject\u0000\u00e9')).toBe('6ff2ace0-0a37-5fdc-9877-5f93cda8de57');
    // A lone surrogate (hostile input) is encoded as U+FFFD, as Buffer did, rather than thrown on.
    expect(uuidV5('x\ud800')).toBe(uuidV5('x\ufffd'));
  });
  it("gives the uuid package's v5 of the name's UTF-8 bytes, for any name and namespace", () => {
    const utf8 = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.option(fc.uuid(), { nil: undefined }), (name, namespace) => {
        const ns = namespace ?? ECGCAD_UUID_NAMESPACE;
        expect(uuidV5(name, namespace)).toBe(v5(utf8.encode(name), ns));
        expect(uuidV5(name, ns.toUpperCase())).toBe(uuidV5(name, ns));
      }),
      { numRuns: 300 },
    );
  });
  it('refuses a namespace that is not a uuid', () => {
    expect(() => uuidV5('a', 'not-a-uuid')).toThrow(TypeError);
    expect(() => uuidV5('a', '6f0b5c3e2a514d439c6e3f9d2e7a1b54')).toThrow(TypeError);
  });
  it('is stable and sensitive to the name', () => {
    expect(uuidV5('a')).toBe(uuidV5('a'));
    expect(uuidV5('a')).not.toBe(uuidV5('b'));
    expect(uuidV5('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('ecgSourceIdentifier', () => {
  it('uses urn:dicom:uid for DICOM SOP Instance UIDs', () => {
    expect(ecgSourceIdentifier({ id: '1.2.840.113619.2.1', format: 'dicom' })).toEqual({
      system: 'urn:dicom:uid',
      value: 'urn:oid:1.2.840.113619.2.1',
    });
  });
  it('uses the aECG root as system when there is an extension, and urn:ietf:rfc:3986 when there is not', () => {
    expect(ecgSourceIdentifier({ id: '2.16.840.1.113883.3.1^ECG-77', format: 'aecg' })).toEqual({
      system: 'urn:oid:2.16.840.1.113883.3.1',
      value: 'ECG-77',
    });
    expect(ecgSourceIdentifier({ id: '61d1a24f-b47e-41aa-ae95-f8ac302f4eeb', format: 'aecg' })).toEqual({
      system: SYSTEMS.uri,
      value: 'urn:uuid:61d1a24f-b47e-41aa-ae95-f8ac302f4eeb',
    });
  });
  it('falls back to the project system for hashes, vendor XML and malformed UIDs', () => {
    expect(ecgSourceIdentifier({ id: 'sha256:ab12', format: 'ge-muse' })).toEqual({
      system: SYSTEMS.ecgId,
      value: 'sha256:ab12',
    });
    expect(ecgSourceIdentifier({ id: '1.02.3', format: 'dicom' })).toEqual({ system: SYSTEMS.ecgId, value: '1.02.3' });
    expect(ecgSourceIdentifier({ id: 'weird root^x', format: 'aecg' })).toEqual({
      system: SYSTEMS.ecgId,
      value: 'weird root^x',
    });
  });
  it('recognises OIDs and percent-encodes search tokens', () => {
    expect(isOid('1.2.840.10008.5.1.4.1.1.9.1.1')).toBe(true);
    expect(isOid('1.2.')).toBe(false);
    expect(identifierQuery({ system: 'urn:x', value: 'a|b c' })).toBe('identifier=urn%3Ax|a%7Cb%20c');
  });
});
