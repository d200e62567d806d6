import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCapability } from '../../capabilities/capability-string.js';
import { GrantSet, neededCapability } from '../../capabilities/grant-set.js';
import { reachesPrivateAddresses } from '../../capabilities/net.js';
import type { Grant, Need, NetCapability } from '../../capabilities/types.js';
import { expectCode } from './helpers.js';

const fsRead = (path: string): Need => ({ kind: 'fs', access: 'read', path });
const fsWrite = (path: string): Need => ({ kind: 'fs', access: 'write', path });
const net = (host: string, port: number, hostType: 'name' | 'ipv4' | 'ipv6' = 'name'): Need => ({
  kind: 'net',
  host,
  hostType,
  port,
});
const db = (table: string): Need => ({ kind: 'db', table });
const msg = (plugin: string): Need => ({ kind: 'msg', plugin });

/** Grants, a need, and whether the grants cover it. */
const COVERAGE: readonly (readonly [readonly string[], Need, boolean])[] = [
  // fs: a write grant covers reads and writes inside its folder
  [['fs:exports/'], fsWrite('exports/a.txt'), true],
  [['fs:exports/'], fsRead('exports/a.txt'), true],
  [['fs:exports/'], fsWrite('exports/deep/er/a.txt'), true],
  [['fs:exports/'], fsRead('exports'), true],
  [['fs:exports/'], fsRead('exports/'), true],
  [['fs:exports/'], fsRead('exports/sub/'), true],
  [['fs:exports/'], fsWrite('exports2/a.txt'), false],
  [['fs:exports/'], fsRead('export'), false],
  [['fs:exports/'], fsRead('other/a.txt'), false],
  [['fs:exports/sub/'], fsRead('exports/a.txt'), false],
  [['fs:exports/sub/'], fsRead('exports/'), false],
  [['fs:exports/sub/'], fsRead('exports/sub'), true],
  // fs: a read grant never covers a write
  [['fs.read:exports/'], fsRead('exports/a.txt'), true],
  [['fs.read:exports/'], fsWrite('exports/a.txt'), false],
  [['fs.read:exports/', 'fs:cache/'], fsWrite('exports/a.txt'), false],
  [['fs.read:exports/', 'fs:exports/'], fsWrite('exports/a.txt'), true],
  // fs: needs that are not normalised are never covered
  [['fs:exports/'], fsRead('exports/../secret.txt'), false],
  [['fs:exports/'], fsRead('exports/./a.txt'), false],
  [['fs:exports/'], fsRead('exports//a.txt'), false],
  [['fs:exports/'], fsRead('/exports/a.txt'), false],
  [['fs:exports/'], fsRead(''), false],
  // net: exact names
  [['net:api.example.org'], net('api.example.org', 443), true],
  [['net:api.example.org'], net('api.example.org', 8443), true],
  [['net:api.example.org'], net('example.org', 443), false],
  [['net:api.example.org'], net('x.api.example.org', 443), false],
  [['net:api.example.org'], net('api.example.org.evil.test', 443), false],
  [['net:api.example.org:443'], net('api.example.org', 443), true],
  [['net:api.example.org:443'], net('api.example.org', 80), false],
  [['net:localhost:3000'], net('localhost', 3000), true],
  [['net:localhost:3000'], net('localhost', 3001), false],
  // net: wildcards cover strict subdomains only
  [['net:*.example.com'], net('api.example.com', 443), true],
  [['net:*.example.com'], net('a.b.example.com', 80), true],
  [['net:*.example.com'], net('example.com', 443), false],
  [['net:*.example.com'], net('badexample.com', 443), false],
  [['net:*.example.com'], net('example.com.evil.test', 443), false],
  [['net:*.example.com:443'], net('api.example.com', 443), true],
  [['net:*.example.com:443'], net('api.example.com', 80), false],
  // net: address literals only by the same literal
  [['net:127.0.0.1:8080'], net('127.0.0.1', 8080, 'ipv4'), true],
  [['net:127.0.0.1:8080'], net('127.0.0.1', 8081, 'ipv4'), false],
  [['net:127.0.0.1'], net('127.0.0.1', 22, 'ipv4'), true],
  [['net:127.0.0.1:8080'], net('127.0.0.2', 8080, 'ipv4'), false],
  [['net:localhost:8080'], net('127.0.0.1', 8080, 'ipv4'), false],
  [['net:[::1]:9000'], net('::1', 9000, 'ipv6'), true],
  [['net:[::1]:9000'], net('::1', 9001, 'ipv6'), false],
  [['net:[::1]:9000'], net('localhost', 9000), false],
  [['net:[::ffff:7f00:1]'], net('127.0.0.1', 80, 'ipv4'), false],
  [['net:*.example.com'], net('1.2.3.4', 443, 'ipv4'), false],
  // db
  [['db:notes'], db('notes'), true],
  [['db:notes'], db('NOTES'), true],
  [['db:notes'], db('notes_archive'), false],
  [['db:notes'], db('*'), false],
  [['db:*'], db('notes'), true],
  [['db:*'], db('*'), true],
  // msg
  [['msg:weather'], msg('weather'), true],
  [['msg:weather'], msg('weather2'), false],
  // kinds never cross
  [['fs:exports/', 'db:*', 'msg:notes'], net('example.com', 443), false],
  [['net:*.example.com', 'db:*'], fsRead('exports/a.txt'), false],
  [['fs:notes/', 'net:notes.example'], db('notes'), false],
  [['db:notes', 'fs:weather/'], msg('weather'), false],
  // no grant covers anything
  [[], fsRead('exports/a.txt'), false],
  [[], net('example.com', 443), false],
  [[], db('notes'), false],
  [[], msg('notes'), false],
];

/** A need and the capability string that grants it. */
const NEEDED: readonly (readonly [Need, string])[] = [
  [fsWrite('exports/a.txt'), 'fs:exports/'],
  [fsRead('exports/a.txt'), 'fs.read:exports/'],
  [fsWrite('exports/2026/a.txt'), 'fs:exports/2026/'],
  [fsRead('exports/sub/'), 'fs.read:exports/sub/'],
  [fsRead('exports/'), 'fs.read:exports/'],
  [fsRead('exports'), 'fs.read:exports/'],
  [fsRead('exports/sub'), 'fs.read:exports/'],
  [net('api.example.org', 443), 'net:api.example.org'],
  [net('api.example.org', 80), 'net:api.example.org'],
  [net('api.example.org', 8443), 'net:api.example.org:8443'],
  [net('localhost', 3000), 'net:localhost:3000'],
  [net('localhost', 80), 'net:localhost:80'],
  [net('127.0.0.1', 8080, 'ipv4'), 'net:127.0.0.1:8080'],
  [net('127.0.0.1', 443, 'ipv4'), 'net:127.0.0.1:443'],
  [net('::1', 9000, 'ipv6'), 'net:[::1]:9000'],
  [db('notes'), 'db:notes'],
  [db('Notes'), 'db:notes'],
  [db('*'), 'db:*'],
  [msg('weather'), 'msg:weather'],
];

test('GrantSet covers matching needs', () => {
  for (const [grants, need, expected] of COVERAGE) {
    const set = new GrantSet(grants);
    assert.is(set.covers(need), expected, `${JSON.stringify(grants)} covers ${JSON.stringify(need)}`);
  }
});

test('neededCapability names the grant', () => {
  for (const [need, expected] of NEEDED) {
    assert.is(neededCapability(need), expected, JSON.stringify(need));
  }
});

test('neededCapability output is a valid grant', () => {
  for (const [need] of NEEDED) {
    const text = neededCapability(need);
    assert.is(parseCapability(text).text, text, `${text} is canonical`);
    assert.ok(new GrantSet([text]).covers(need), `${text} covers ${JSON.stringify(need)}`);
  }
});

test('neededCapability rejects unnormalised fs need', () => {
  assert.throws(() => neededCapability(fsRead('a/../b')), /not normalised/);
  assert.throws(() => neededCapability(fsRead('')), /not normalised/);
});

test('GrantSet sorts and removes duplicates', () => {
  const set = new GrantSet(['net:Example.com', 'db:notes', 'net:example.com.', 'fs:b', 'fs:a/']);
  assert.equal(set.texts(), ['db:notes', 'fs:a/', 'fs:b/', 'net:example.com']);
});

test('GrantSet rejects invalid grant', () => {
  const error = expectCode(() => new GrantSet(['db:notes', 'net:*.com']), 'PLUGRUN_INVALID');
  assert.ok(error.message.includes('net:*.com'), error.message);
});

test('GrantSet reparses hand-built grants', () => {
  // The capability object grants more than its text, and the set follows the text.
  const forged: Grant = { text: 'fs.read:exports/', capability: { kind: 'fs', access: 'write', dir: 'exports/' } };
  const set = new GrantSet([forged]);
  assert.not.ok(set.covers(fsWrite('exports/a.txt')));
  assert.ok(set.covers(fsRead('exports/a.txt')));
});

test('GrantSet is immutable', () => {
  const set = new GrantSet(['db:notes']);
  assert.ok(Object.isFrozen(set));
  assert.ok(Object.isFrozen(set.grants));
  assert.ok(Object.isFrozen(set.grants[0]));
  assert.ok(Object.isFrozen(set.grants[0]?.capability));
});

test('GrantSet.has compares canonical text', () => {
  const set = new GrantSet(['net:example.com', 'fs:cache/']);
  assert.ok(set.has('net:EXAMPLE.com.'));
  assert.ok(set.has('fs:cache'));
  assert.not.ok(set.has('net:*.example.com'));
});

test('GrantSet.find returns covering grant', () => {
  const set = new GrantSet(['net:*.example.com', 'net:localhost:3000', 'db:*']);
  assert.is(set.find(net('api.example.com', 443))?.text, 'net:*.example.com');
  assert.is(set.find(net('localhost', 3000))?.text, 'net:localhost:3000');
  assert.is(set.find(net('localhost', 3001)), undefined);
});

test('reachesPrivateAddresses allows literals and localhost', () => {
  const capabilityOf = (text: string) => parseCapability(text).capability as NetCapability;
  assert.ok(reachesPrivateAddresses(capabilityOf('net:127.0.0.1:8080')));
  assert.ok(reachesPrivateAddresses(capabilityOf('net:[::1]:9000')));
  assert.ok(reachesPrivateAddresses(capabilityOf('net:localhost:3000')));
  assert.not.ok(reachesPrivateAddresses(capabilityOf('net:example.com')));
  assert.not.ok(reachesPrivateAddresses(capabilityOf('net:*.example.com')));
  assert.not.ok(reachesPrivateAddresses(capabilityOf('net:internal.example:8080')));
});

test.run();
