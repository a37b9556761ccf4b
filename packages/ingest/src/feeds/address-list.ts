/**
 * Source-address lists for the feeds: single addresses and CIDR blocks, IPv4 and IPv6, on node:net's BlockList
 * (which also matches IPv4-mapped IPv6 peers such as `::ffff:10.1.2.3` against IPv4 blocks).
 */
import { BlockList, isIP } from 'node:net';

/** A parsed list of addresses and CIDR blocks. */
export interface AddressList {
  /** True when the address is in the list. */
  has(address: string | undefined): boolean;
  /** The entries as given, for messages. */
  readonly entries: readonly string[];
}

/**
 * Parses `10.1.2.3`, `10.1.0.0/16`, `fd00::1`, `fd00::/8`. Returns the list, or the entries it could not read
 * (the caller turns those into a ConfigError naming its own key).
 */
export function parseAddressList(entries: readonly string[]): { list: AddressList } | { invalid: string[] } {
  const blocks = new BlockList();
  const invalid: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    if (
      family === 0 ||
      extra !== undefined ||
      (bits !== undefined && (!/^\d{1,3}$/.test(prefix ?? '') || (bits as number) > maxBits))
    ) {
      invalid.push(raw);
      continue;
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) blocks.addAddress(address, type);
    else blocks.addSubnet(address, bits, type);
  }
  if (invalid.length > 0) return { invalid };
  return {
    list: {
      entries: [...entries],
      has(address) {
        if (!address) return false;
        const family = isIP(address);
        if (family === 0) return false;
        return blocks.check(address, family === 6 ? 'ipv6' : 'ipv4');
      },
    },
  };
}

/** The peer address as operators write it: `::ffff:10.1.2.3` becomes `10.1.2.3`. Undefined stays `unknown`. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? (mapped[1] as string) : address;
}
