/**
 * The network class of an IP address, for the guard that keeps a request by
 * host name away from the machine itself, the local network and cloud
 * metadata services.
 *
 * Threat: the party that controls the DNS of a granted name (the plugin's
 * author, say) makes it resolve to 127.0.0.1, 10.0.0.5 or 169.254.169.254.
 * Or it hides such an address in an IPv6 form that carries an IPv4 address
 * (mapped, compatible, translated, NAT64, 6to4), or in an IPv4 spelling such
 * as `0x7f.1`. Every address is first brought to the one form the WHATWG URL
 * parser writes, then classified with ipaddr.js. Only an address that is
 * plainly public is `public`, so a range this file does not know is blocked.
 */

import ipaddr from 'ipaddr.js';

/** The classes of address. Every class except `public` is blocked for a grant by host name. */
export const ADDRESS_CLASSES = [
  'public',
  'loopback',
  'private',
  'linkLocal',
  'shared',
  'uniqueLocal',
  'unspecified',
  'broadcast',
  'multicast',
  'reserved',
] as const;

/** The network class of an address. */
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** The IPv6 forms that carry an IPv4 address inside them. */
export type Ipv4Embedding = 'ipv4Mapped' | 'ipv4Compatible' | 'ipv4Translated' | 'nat64' | '6to4';

/** An address in canonical form with its class. */
export interface ClassifiedAddress {
  /** The address as the URL parser writes it: dotted quad, or compressed IPv6 without brackets. */
  readonly address: string;
  readonly family: 4 | 6;
  readonly addressClass: AddressClass;
  /** For an IPv6 form that carries an IPv4 address: the form and that address, which set the class. */
  readonly embedded?: { readonly form: Ipv4Embedding; readonly ipv4: string };
}

const dottedQuad = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Returns an IP address in the form the WHATWG URL parser writes it, or
 * undefined when the text is not an address. Every IPv4 spelling the parser
 * accepts (`0x7f.1`, `2130706433`, `0177.0.0.1`, `127.1`, a trailing dot)
 * becomes a dotted quad, so no check has to compare two spellings of one address.
 */
export const canonicalAddress = (text: string): { readonly address: string; readonly family: 4 | 6 } | undefined => {
  if (text.includes(':')) {
    // A zone (`fe80::1%eth0`) is rejected by the parser, which is what we want.
    if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
    try {
      return { address: new URL(`http://[${text}]/`).hostname.slice(1, -1), family: 6 };
    } catch {
      return undefined;
    }
  }

  // Only the characters of IPv4 spellings, so that a path or a port in the text cannot be parsed away.
  if (!/^[0-9A-Fa-fXx.]+$/.test(text)) return undefined;
  try {
    const host = new URL(`http://${text}/`).hostname;
    return dottedQuad.test(host) ? { address: host, family: 4 } : undefined;
  } catch {
    return undefined;
  }
};

const classifyIpv4 = (address: ipaddr.IPv4): AddressClass => {
  const range = address.range();
  switch (range) {
    // as112 and amt are anycast services on the public internet.
    case 'unicast':
    case 'as112':
    case 'amt':
      return 'public';
    case 'carrierGradeNat':
      return 'shared';
    case 'loopback':
    case 'private':
    case 'linkLocal':
    case 'unspecified':
    case 'broadcast':
    case 'multicast':
    case 'reserved':
      return range;
    default:
      return 'reserved';
  }
};

const ipv4FromWords = (high: number, low: number): ipaddr.IPv4 =>
  new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

/** Returns the IPv4 address an IPv6 address carries, and the form, or undefined. */
const findEmbeddedIpv4 = (address: ipaddr.IPv6): { form: Ipv4Embedding; ipv4: ipaddr.IPv4 } | undefined => {
  const parts = address.parts;
  const range = address.range();
  const last = ipv4FromWords(parts[6]!, parts[7]!);

  if (range === 'ipv4Mapped') return { form: 'ipv4Mapped', ipv4: last };
  if (range === 'rfc6145') return { form: 'ipv4Translated', ipv4: last };
  // 64:ff9b::/96 (RFC 6052). The local-use prefix 64:ff9b:1::/48 is handled by the caller.
  if (parts[0] === 0x64 && parts[1] === 0xff9b && parts.slice(2, 6).every((part) => part === 0)) {
    return { form: 'nat64', ipv4: last };
  }
  // 2002:AABB:CCDD::/48 routes to the IPv4 address AA.BB.CC.DD (RFC 3056).
  if (parts[0] === 0x2002) return { form: '6to4', ipv4: ipv4FromWords(parts[1]!, parts[2]!) };
  // ::a.b.c.d, deprecated by RFC 4291 section 2.5.5.1. `::` and `::1` are not IPv4 addresses.
  if (parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || parts[7]! > 1)) {
    return { form: 'ipv4Compatible', ipv4: last };
  }
  return undefined;
};

const classifyIpv6 = (address: ipaddr.IPv6): Pick<ClassifiedAddress, 'addressClass' | 'embedded'> => {
  // 1. Forms that carry an IPv4 address take that address's class.
  const embedded = findEmbeddedIpv4(address);
  if (embedded !== undefined) {
    const ipv4Class = classifyIpv4(embedded.ipv4);
    // A compatible address reaches nothing on a current network, so even a public one is reserved.
    const addressClass = embedded.form === 'ipv4Compatible' && ipv4Class === 'public' ? 'reserved' : ipv4Class;
    return { addressClass, embedded: { form: embedded.form, ipv4: embedded.ipv4.toString() } };
  }

  // 2. Special ranges. The type of range() in ipaddr.js 2.5 lacks some of the names it returns.
  const range: string = address.range();
  switch (range) {
    case 'loopback':
    case 'linkLocal':
    case 'uniqueLocal':
    case 'unspecified':
    case 'multicast':
      return { addressClass: range as AddressClass };
    // fec0::/10 was site-local before RFC 3879 deprecated it, and 64:ff9b:1::/48 translates for a local network (RFC 8215).
    case 'deprecatedSiteLocal':
    case 'rfc6052':
      return { addressClass: 'private' };
    case 'unicast':
    case 'amt':
    case 'as112v6':
      break;
    // Teredo hides its IPv4 addresses obfuscated, and the rest are documentation or test ranges.
    default:
      return { addressClass: 'reserved' };
  }

  // 3. Global unicast is 2000::/3, and IANA keeps the rest of the space reserved.
  return { addressClass: (address.parts[0]! & 0xe000) === 0x2000 ? 'public' : 'reserved' };
};

/** Classifies an IP address in any spelling the URL parser accepts, or returns undefined when the text is not one. */
export const classifyAddress = (text: string): ClassifiedAddress | undefined => {
  const canonical = canonicalAddress(text);
  if (canonical === undefined) return undefined;

  if (canonical.family === 4) {
    return { ...canonical, addressClass: classifyIpv4(ipaddr.IPv4.parse(canonical.address)) };
  }
  return { ...canonical, ...classifyIpv6(ipaddr.IPv6.parse(canonical.address)) };
};

const EMBEDDING_NAMES: Readonly<Record<Ipv4Embedding, string>> = {
  ipv4Mapped: 'IPv4-mapped',
  ipv4Compatible: 'IPv4-compatible',
  ipv4Translated: 'IPv4-translated',
  nat64: 'NAT64',
  '6to4': '6to4',
};

/** Describes an address and its class for a message, such as `127.0.0.1 (loopback)` or `::ffff:a00:1 (private, IPv4-mapped 10.0.0.1)`. */
export const describeAddress = (classified: ClassifiedAddress): string => {
  const embedded = classified.embedded;
  const via = embedded === undefined ? '' : `, ${EMBEDDING_NAMES[embedded.form]} ${embedded.ipv4}`;
  return `${classified.address} (${classified.addressClass}${via})`;
};
