import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CAPABILITY_FORMS, formatCapability, parseCapability } from '../../capabilities/capability-string.js';
import { expectCode } from './helpers.js';

/** Valid strings and their canonical text. */
const VALID: readonly (readonly [string, string])[] = [
  // fs and fs.read
  ['fs:cache', 'fs:cache/'],
  ['fs:cache/', 'fs:cache/'],
  ['fs:exports/2026/', 'fs:exports/2026/'],
  ['fs:a//b/./c/', 'fs:a/b/c/'],
  ['fs:./cache', 'fs:cache/'],
  ['fs:a/./', 'fs:a/'],
  ['fs:My-Files_1.0/', 'fs:My-Files_1.0/'],
  ['fs:...hidden/', 'fs:...hidden/'],
  ['fs.read:exports/', 'fs.read:exports/'],
  ['fs.read:exports', 'fs.read:exports/'],
  // net host names
  ['net:example.com', 'net:example.com'],
  ['net:API.Example.ORG', 'net:api.example.org'],
  ['net:example.com.', 'net:example.com'],
  ['net:Example.COM.:8080', 'net:example.com:8080'],
  ['net:bücher.example', 'net:xn--bcher-kva.example'],
  ['net:BÜCHER.example', 'net:xn--bcher-kva.example'],
  ['net:xn--bcher-kva.example', 'net:xn--bcher-kva.example'],
  ['net:intranet', 'net:intranet'],
  ['net:my_host.example', 'net:my_host.example'],
  ['net:example.com:1', 'net:example.com:1'],
  ['net:example.com:65535', 'net:example.com:65535'],
  ['net:localhost:3000', 'net:localhost:3000'],
  ['net:LOCALHOST:3000', 'net:localhost:3000'],
  // net wildcards
  ['net:*.example.com', 'net:*.example.com'],
  ['net:*.Example.COM.', 'net:*.example.com'],
  ['net:*.example.com:443', 'net:*.example.com:443'],
  ['net:*.bücher.example', 'net:*.xn--bcher-kva.example'],
  // net address literals
  ['net:127.0.0.1:8080', 'net:127.0.0.1:8080'],
  ['net:10.0.0.1', 'net:10.0.0.1'],
  ['net:1.2.3.4.', 'net:1.2.3.4'],
  ['net:[::1]:9000', 'net:[::1]:9000'],
  ['net:[::1]', 'net:[::1]'],
  ['net:[0:0:0:0:0:0:0:1]', 'net:[::1]'],
  ['net:[2001:DB8:0:0:1:0:0:1]:443', 'net:[2001:db8::1:0:0:1]:443'],
  ['net:[::ffff:127.0.0.1]', 'net:[::ffff:7f00:1]'],
  // db
  ['db:notes', 'db:notes'],
  ['db:Notes', 'db:notes'],
  ['db:_private_2', 'db:_private_2'],
  ['db:*', 'db:*'],
  [`db:${'t'.repeat(64)}`, `db:${'t'.repeat(64)}`],
  // msg
  ['msg:notes', 'msg:notes'],
  ['msg:weather-2_x', 'msg:weather-2_x'],
  [`msg:${'p'.repeat(64)}`, `msg:${'p'.repeat(64)}`],
];

/** Invalid strings and a part of the message that names the problem. */
const INVALID: readonly (readonly [string, string])[] = [
  // kinds
  ['', 'has no kind'],
  ['notes', 'has no kind'],
  ['file:notes/', 'kind "file" is unknown'],
  ['FS:cache/', 'kind "FS" is unknown'],
  ['http:example.com', 'kind "http" is unknown'],
  ['fs.write:cache/', 'kind "fs.write" is unknown'],
  ['db.read:notes', 'kind "db.read" is unknown'],
  // whitespace is rejected, never trimmed
  [' fs:cache/', 'whitespace around it'],
  ['fs:cache/ ', 'whitespace around it'],
  ['net:example.com\n', 'whitespace around it'],
  ['net: example.com', 'contains whitespace'],
  ['fs:my notes/', 'contains whitespace'],
  // fs folders
  ['fs:', 'folder is missing'],
  ['fs:/', 'is absolute'],
  ['fs:./', 'data folder itself'],
  ['fs:.', 'data folder itself'],
  ['fs://', 'is absolute'],
  ['fs:/etc/', 'is absolute'],
  ['fs:..', 'contains ".."'],
  ['fs:../', 'contains ".."'],
  ['fs:../other-plugin/', 'contains ".."'],
  ['fs:cache/../', 'contains ".."'],
  ['fs:a/../b/', 'contains ".."'],
  ['fs:a/..', 'contains ".."'],
  ['fs:a\\b/', 'backslash'],
  ['fs:..\\x/', 'backslash'],
  ['fs:C:/Users/', 'Windows drive'],
  ['fs:c:', 'Windows drive'],
  ['fs:a\u0000b/', 'NUL'],
  ['fs:a\u0007b/', 'control character'],
  ['fs:a\u001bb/', 'control character'],
  ['fs:$(curl evil.sh)/', 'contains whitespace'],
  ['fs:$(id)/', 'only letters, digits'],
  ['fs:a;b/', 'only letters, digits'],
  ['fs:café/', 'only letters, digits'],
  ['fs:a\u202eb/', 'only letters, digits'],
  ['fs:a*/', 'only letters, digits'],
  [`fs:${'a'.repeat(256)}/`, 'longer than 255'],
  ['fs.read:', 'folder is missing'],
  ['fs.read:../', 'contains ".."'],
  // net hosts
  ['net:', 'host is missing'],
  ['net::80', 'host is missing'],
  ['net:exa mple.com', 'contains whitespace'],
  ['net:a$b.com', 'contains "$"'],
  ['net:a(b).com', 'contains "("'],
  ['net:a..b.com', 'empty label'],
  ['net:example.com..', 'empty label'],
  ['net:.example.com', 'empty label'],
  ['net:ex%61mple.com', 'contains "%"'],
  ['net:user@example.com', 'contains "@"'],
  ['net:example.com?x', 'contains "?"'],
  ['net:example.com#x', 'contains "#"'],
  ['net:example.com\\x', 'contains "\\\\"'],
  ['net:example.com／path', 'not a valid host name'],
  ['net:example.com/path', 'contains "/"'],
  [`net:${'a'.repeat(64)}.com`, 'at most 63 characters'],
  ['net:a\u202eb.com', 'not a valid host name'],
  ['net:localhost', 'needs a port'],
  ['net:example.123', 'not a dotted-quad'],
  // net ports
  ['net:example.com:0', 'port "0" is not a decimal number from 1 to 65535'],
  ['net:example.com:65536', 'port "65536"'],
  ['net:example.com:99999', 'port "99999"'],
  ['net:example.com:', 'port ""'],
  ['net:example.com:8000-9000', 'is a range'],
  ['net:example.com:80-80', 'is a range'],
  ['net:example.com:+80', 'port "+80"'],
  ['net:example.com:-80', 'port "-80"'],
  ['net:example.com:080', 'port "080"'],
  ['net:example.com:0x50', 'port "0x50"'],
  ['net:example.com:80a', 'port "80a"'],
  ['net:example.com:8.0', 'port "8.0"'],
  ['net:example.com:1e3', 'port "1e3"'],
  ['net:example.com:*', 'port "*"'],
  ['net:example.com:80:81', 'more than one ":"'],
  // net wildcards
  ['net:*', '"*" is allowed only as the whole first label'],
  ['net:*.', 'host is missing'],
  ['net:*.com', 'at least two labels'],
  ['net:*.localhost', 'at least two labels'],
  ['net:*.*.example.com', '"*" is allowed only'],
  ['net:a.*.com', '"*" is allowed only'],
  ['net:*foo.com', '"*" is allowed only'],
  ['net:foo*.com', '"*" is allowed only'],
  ['net:example.*', '"*" is allowed only'],
  ['net:*example.com', '"*" is allowed only'],
  ['net:*.1.2.3.4', 'not an IPv4 address'],
  ['net:*.[::1]', 'more than one ":"'],
  // net address literals
  ['net:256.1.1.1', 'not a dotted-quad'],
  ['net:1.2.3', 'not a dotted-quad'],
  ['net:010.0.0.1', 'not a dotted-quad'],
  ['net:0x7f.0.0.1', 'not a dotted-quad'],
  ['net:2130706433', 'not a dotted-quad'],
  ['net:::1', 'must be in brackets'],
  ['net:2001:db8::1', 'must be in brackets'],
  ['net:[::1', 'has no closing "]"'],
  ['net:[::1]x', 'is not ":<port>"'],
  ['net:[::1]:0', 'port "0"'],
  ['net:[::1]:70000', 'port "70000"'],
  ['net:[]', 'not a valid IPv6 address'],
  ['net:[1.2.3.4]', 'not a valid IPv6 address'],
  ['net:[example.com]', 'not a valid IPv6 address'],
  ['net:[fe80::1%25eth0]', 'not a valid IPv6 address'],
  ['net:[::1::2]', 'not a valid IPv6 address'],
  // db
  ['db:', 'table is missing'],
  ['db:1notes', 'must start with a letter'],
  ['db:notes-2', 'must start with a letter'],
  ['db:notes.x', 'must start with a letter'],
  ['db:no tes', 'contains whitespace'],
  ['db:"notes"', 'must start with a letter'],
  ['db:sqlite_master', 'sqlite_'],
  ['db:SQLite_sequence', 'sqlite_'],
  ['db:**', 'must start with a letter'],
  ['db:notes*', 'must start with a letter'],
  [`db:${'t'.repeat(65)}`, 'longer than 64'],
  ['db:__proto__', 'reserved by JavaScript'],
  // msg
  ['msg:', 'plugin name is missing'],
  ['msg:Notes', 'lowercase'],
  ['msg:-notes', 'lowercase'],
  ['msg:_notes', 'lowercase'],
  ['msg:notes/other', 'lowercase'],
  ['msg:*', 'lowercase'],
  [`msg:${'p'.repeat(65)}`, 'lowercase'],
];

test('parseCapability normalises valid forms', () => {
  for (const [input, canonical] of VALID) {
    const grant = parseCapability(input);
    assert.is(grant.text, canonical, input);
    assert.is(formatCapability(grant.capability), canonical, `format ${input}`);
  }
});

test('parseCapability canonical text is stable', () => {
  for (const [input] of VALID) {
    const once = parseCapability(input);
    const twice = parseCapability(once.text);
    assert.equal(twice, once, input);
  }
});

test('parseCapability rejects invalid forms', () => {
  for (const [input, problem] of INVALID) {
    const error = expectCode(() => parseCapability(input), 'PLUGRUN_INVALID', JSON.stringify(input));
    assert.ok(error.message.includes(problem), `${JSON.stringify(input)}: "${error.message}" lacks "${problem}"`);
  }
});

test('parseCapability message lists valid forms', () => {
  const error = expectCode(() => parseCapability('bogus:x'), 'PLUGRUN_INVALID');
  assert.ok(error.message.startsWith('invalid capability "bogus:x": '), error.message);
  for (const { form } of CAPABILITY_FORMS) assert.ok(error.message.includes(form), `message lacks ${form}`);
});

test('parseCapability forms cover every kind', () => {
  const forms = CAPABILITY_FORMS.map(({ form }) => form);
  assert.equal(forms, [
    'fs:<dir>/',
    'fs.read:<dir>/',
    'net:<host>',
    'net:<host>:<port>',
    'net:*.<domain>',
    'db:<table>',
    'db:*',
    'msg:<plugin>',
  ]);
});

test('parseCapability rejects non-strings', () => {
  for (const value of [undefined, null, 42, ['fs:a/'], { text: 'fs:a/' }, Buffer.from('fs:a/')]) {
    const error = expectCode(() => parseCapability(value), 'PLUGRUN_INVALID', String(value));
    assert.ok(error.message.includes('must be a string'), error.message);
  }
});

test('parseCapability escapes control characters in messages', () => {
  const error = expectCode(() => parseCapability('fs:a\u001b[31mb\u202e/'), 'PLUGRUN_INVALID');
  assert.not.ok(error.message.includes('\u001b'), 'escape character reached the message');
  assert.not.ok(error.message.includes('\u202e'), 'bidi override reached the message');
  assert.ok(error.message.includes('\\u001b'), error.message);
});

test('parseCapability shortens long values in messages', () => {
  const error = expectCode(() => parseCapability(`bogus:${'x'.repeat(5000)}`), 'PLUGRUN_INVALID');
  assert.ok(error.message.length < 1000, `message is ${error.message.length} characters`);
  assert.ok(error.message.includes('5006 characters'), error.message);
});

test('parseCapability separates kinds', () => {
  assert.equal(parseCapability('fs:a/').capability, { kind: 'fs', access: 'write', dir: 'a/' });
  assert.equal(parseCapability('fs.read:a/').capability, { kind: 'fs', access: 'read', dir: 'a/' });
  assert.equal(parseCapability('net:*.example.com:443').capability, {
    kind: 'net',
    host: 'example.com',
    hostType: 'name',
    wildcard: true,
    port: 443,
  });
  assert.equal(parseCapability('net:[::1]').capability, { kind: 'net', host: '::1', hostType: 'ipv6', wildcard: false, port: null });
  assert.equal(parseCapability('net:10.0.0.1:80').capability, {
    kind: 'net',
    host: '10.0.0.1',
    hostType: 'ipv4',
    wildcard: false,
    port: 80,
  });
  assert.equal(parseCapability('db:*').capability, { kind: 'db', table: '*' });
  assert.equal(parseCapability('msg:notes').capability, { kind: 'msg', plugin: 'notes' });
});

test.run();
