import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalAddress, classifyAddress, describeAddress, type AddressClass } from '../../capabilities/net-address.js';

/**
 * Address spellings, the canonical address they reduce to, and its class.
 * Each spelling is one the WHATWG URL parser accepts as a host.
 */
const ADDRESSES: readonly (readonly [string, string, AddressClass])[] = [
  // IPv4 loopback in every notation the URL parser reads.
  ['127.0.0.1', '127.0.0.1', 'loopback'],
  ['127.0.0.1.', '127.0.0.1', 'loopback'],
  ['127.1', '127.0.0.1', 'loopback'],
  ['127.0.1', '127.0.0.1', 'loopback'],
  ['0x7f.1', '127.0.0.1', 'loopback'],
  ['0x7F.0.0.1', '127.0.0.1', 'loopback'],
  ['0177.0.0.1', '127.0.0.1', 'loopback'],
  ['0x7f000001', '127.0.0.1', 'loopback'],
  ['2130706433', '127.0.0.1', 'loopback'],
  ['017700000001', '127.0.0.1', 'loopback'],
  ['127.255.255.254', '127.255.255.254', 'loopback'],
  // Unspecified, broadcast, multicast.
  ['0', '0.0.0.0', 'unspecified'],
  ['0.0.0.0', '0.0.0.0', 'unspecified'],
  ['0.1.2.3', '0.1.2.3', 'unspecified'],
  ['255.255.255.255', '255.255.255.255', 'broadcast'],
  ['0xffffffff', '255.255.255.255', 'broadcast'],
  ['224.0.0.1', '224.0.0.1', 'multicast'],
  ['239.255.255.250', '239.255.255.250', 'multicast'],
  // Private (RFC 1918) in several spellings.
  ['10.0.0.1', '10.0.0.1', 'private'],
  ['012.0.0.1', '10.0.0.1', 'private'],
  ['0x0a.0.0.1', '10.0.0.1', 'private'],
  ['167772161', '10.0.0.1', 'private'],
  ['172.16.0.1', '172.16.0.1', 'private'],
  ['172.31.255.255', '172.31.255.255', 'private'],
  ['192.168.1.1', '192.168.1.1', 'private'],
  ['192.168.257', '192.168.1.1', 'private'],
  ['3232235777', '192.168.1.1', 'private'],
  // Link-local, cloud metadata included.
  ['169.254.169.254', '169.254.169.254', 'linkLocal'],
  ['0xa9fea9fe', '169.254.169.254', 'linkLocal'],
  ['2852039166', '169.254.169.254', 'linkLocal'],
  ['0251.0376.0251.0376', '169.254.169.254', 'linkLocal'],
  ['169.254.0.1', '169.254.0.1', 'linkLocal'],
  // Shared address space (carrier-grade NAT).
  ['100.64.0.1', '100.64.0.1', 'shared'],
  ['100.127.255.255', '100.127.255.255', 'shared'],
  // Documentation, benchmarking and future-use ranges.
  ['192.0.2.1', '192.0.2.1', 'reserved'],
  ['198.18.0.1', '198.18.0.1', 'reserved'],
  ['240.0.0.1', '240.0.0.1', 'reserved'],
  // Public IPv4, including the neighbours of blocked ranges.
  ['8.8.8.8', '8.8.8.8', 'public'],
  ['1.1.1.1', '1.1.1.1', 'public'],
  ['172.32.0.1', '172.32.0.1', 'public'],
  ['100.128.0.1', '100.128.0.1', 'public'],
  ['11.0.0.1', '11.0.0.1', 'public'],
  ['0x08080808', '8.8.8.8', 'public'],
  // IPv6 special ranges.
  ['::1', '::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', '::1', 'loopback'],
  ['::', '::', 'unspecified'],
  ['fe80::1', 'fe80::1', 'linkLocal'],
  ['fc00::1', 'fc00::1', 'uniqueLocal'],
  ['fd12:3456:789a::1', 'fd12:3456:789a::1', 'uniqueLocal'],
  ['ff02::1', 'ff02::1', 'multicast'],
  ['fec0::1', 'fec0::1', 'private'],
  ['2001:db8::1', '2001:db8::1', 'reserved'],
  ['2001::1', '2001::1', 'reserved'],
  ['100::1', '100::1', 'reserved'],
  ['4000::1', '4000::1', 'reserved'],
  // IPv6 forms that carry an IPv4 address take its class.
  ['::ffff:127.0.0.1', '::ffff:7f00:1', 'loopback'],
  ['::ffff:7f00:1', '::ffff:7f00:1', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', '::ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', '::ffff:a9fe:a9fe', 'linkLocal'],
  ['::ffff:10.0.0.1', '::ffff:a00:1', 'private'],
  ['::ffff:100.64.0.1', '::ffff:6440:1', 'shared'],
  ['::ffff:0.0.0.0', '::ffff:0:0', 'unspecified'],
  ['::ffff:8.8.8.8', '::ffff:808:808', 'public'],
  ['::127.0.0.1', '::7f00:1', 'loopback'],
  ['::10.0.0.1', '::a00:1', 'private'],
  ['::8.8.8.8', '::808:808', 'reserved'],
  ['::ffff:0:127.0.0.1', '::ffff:0:7f00:1', 'loopback'],
  ['64:ff9b::127.0.0.1', '64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', '64:ff9b::a9fe:a9fe', 'linkLocal'],
  ['64:ff9b::8.8.8.8', '64:ff9b::808:808', 'public'],
  ['64:ff9b:1::1', '64:ff9b:1::1', 'private'],
  ['2002:7f00:1::', '2002:7f00:1::', 'loopback'],
  ['2002:c0a8:101::1', '2002:c0a8:101::1', 'private'],
  ['2002:808:808::1', '2002:808:808::1', 'public'],
  // Public IPv6.
  ['2606:4700:4700::1111', '2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:80b::200e', '2a00:1450:4001:80b::200e', 'public'],
];

test('address table has forty forms', () => {
  assert.ok(ADDRESSES.length >= 40, `${ADDRESSES.length} forms`);
});

test('addresses reduce and classify', () => {
  for (const [spelling, canonical, expected] of ADDRESSES) {
    const classified = classifyAddress(spelling);
    assert.ok(classified !== undefined, `${spelling} was not read as an address`);
    assert.is(classified.address, canonical, `${spelling}: canonical form`);
    assert.is(classified.addressClass, expected, `${spelling}: class`);
  }
});

test('URL hosts classify like addresses', () => {
  // The host a request URL names is what reaches the classifier, so every
  // spelling above must come out of the URL parser as the same address.
  for (const [spelling, canonical, expected] of ADDRESSES) {
    const host = spelling.includes(':') ? `[${spelling}]` : spelling;
    const hostname = new URL(`http://${host}:8080/`).hostname.replace(/^\[(.*)\]$/, '$1');
    assert.is(hostname, canonical, `${spelling}: URL parser`);
    assert.is(classifyAddress(hostname)?.addressClass, expected, `${spelling}: class from URL`);
  }
});

test('embedded IPv4 forms are named', () => {
  const cases: readonly (readonly [string, string, string])[] = [
    ['::ffff:127.0.0.1', 'ipv4Mapped', '127.0.0.1'],
    ['::127.0.0.1', 'ipv4Compatible', '127.0.0.1'],
    ['::ffff:0:10.0.0.1', 'ipv4Translated', '10.0.0.1'],
    ['64:ff9b::169.254.169.254', 'nat64', '169.254.169.254'],
    ['2002:a00:1::', '6to4', '10.0.0.1'],
  ];
  for (const [spelling, form, ipv4] of cases) {
    assert.equal(classifyAddress(spelling)?.embedded, { form, ipv4 }, spelling);
  }
  assert.is(classifyAddress('::1')?.embedded, undefined);
  assert.is(classifyAddress('::')?.embedded, undefined);
});

test('names are not addresses', () => {
  for (const text of ['localhost', 'example.com', 'evil.example', '127.0.0.1.example', '1.2.3.4/x', '1.2.3.4:80', 'fe80::1%eth0', '[::1]', '', '256.0.0.1', '1.2.3.4.5', '::g']) {
    assert.is(canonicalAddress(text), undefined, text);
    assert.is(classifyAddress(text), undefined, text);
  }
});

test('address description names the class', () => {
  assert.is(describeAddress(classifyAddress('127.0.0.1')!), '127.0.0.1 (loopback)');
  assert.is(describeAddress(classifyAddress('::ffff:10.0.0.1')!), '::ffff:a00:1 (private, IPv4-mapped 10.0.0.1)');
  assert.is(describeAddress(classifyAddress('64:ff9b::a9fe:a9fe')!), '64:ff9b::a9fe:a9fe (linkLocal, NAT64 169.254.169.254)');
});

test.run();
