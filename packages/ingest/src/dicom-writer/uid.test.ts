import { ConfigError } from '@ecgcad/ecg';
import { describe, expect, it } from 'vitest';
import { checkUidRoot, derivedUid, implementationClassUid, isValidUid } from './uid.js';

describe('derivedUid', () => {
  it('gives the UIDs it always gave (values pinned from the hand-written SHA-1 version)', () => {
    expect(derivedUid('instance:abc')).toBe('2.25.172185454993829128321006640666118047627');
    expect(derivedUid('series:\u00e9x', '1.2.826.0.1.3680043.9.9999')).toBe(
      '1.2.826.0.1.3680043.9.9999.1.9727045331333764447',
    );
  });
  it('is stable, sensitive to the name, valid, and never throws on a lone surrogate', () => {
    expect(derivedUid('a')).toBe(derivedUid('a'));
    expect(derivedUid('a')).not.toBe(derivedUid('b'));
    expect(isValidUid(derivedUid('a'))).toBe(true);
    expect(isValidUid(derivedUid('a', '1.2.3'))).toBe(true);
    expect(derivedUid('x\ud800')).toBe(derivedUid('x\ufffd'));
  });
});

describe('UID roots', () => {
  it('checks a site root and derives the implementation class UID from it', () => {
    expect(() => checkUidRoot('1.02.3')).toThrow(ConfigError);
    expect(() => checkUidRoot(`1.${'2'.repeat(40)}`)).toThrow(ConfigError);
    expect(() => checkUidRoot('1.2.826.0.1.3680043.9.9999')).not.toThrow();
    expect(implementationClassUid('1.2.3')).toBe('1.2.3.0');
    expect(isValidUid(implementationClassUid())).toBe(true);
  });
});
