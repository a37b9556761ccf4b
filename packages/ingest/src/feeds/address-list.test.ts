import { describe, expect, it } from 'vitest';
import { normalizeAddress, parseAddressList } from './address-list.js';

function list(entries: string[]) {
  const parsed = parseAddressList(entries);
  if (!('list' in parsed)) throw new Error(`invalid: ${parsed.invalid.join(', ')}`);
  return parsed.list;
}

describe('parseAddressList', () => {
  it('matches single addresses and CIDR blocks, IPv4 and IPv6, and IPv4-mapped IPv6 peers', () => {
    const l = list(['10.1.0.0/16', '192.168.5.7', 'fd00::/8', '::1']);
    expect(l.has('10.1.200.3')).toBe(true);
    expect(l.has('::ffff:10.1.200.3')).toBe(true);
    expect(l.has('10.2.0.1')).toBe(false);
    expect(l.has('192.168.5.7')).toBe(true);
    expect(l.has('192.168.5.8')).toBe(false);
    expect(l.has('fd12:3456::9')).toBe(true);
    expect(l.has('fe80::1')).toBe(false);
    expect(l.has('::1')).toBe(true);
    expect(l.has('127.0.0.1')).toBe(false);
    expect(l.has(undefined)).toBe(false);
    expect(l.has('not an address')).toBe(false);
  });

  it('reports every entry it cannot read', () => {
    expect(
      parseAddressList(['10.0.0.0/33', 'host.example', '10.0.0.1', '1.2.3.4/8/9', 'fd00::/129', '10.0.0.0/x']),
    ).toEqual({
      invalid: ['10.0.0.0/33', 'host.example', '1.2.3.4/8/9', 'fd00::/129', '10.0.0.0/x'],
    });
  });
});

describe('normalizeAddress', () => {
  it('unwraps IPv4-mapped IPv6 addresses and keeps the rest', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('fd00::1')).toBe('fd00::1');
    expect(normalizeAddress(undefined)).toBe('unknown');
  });
});
