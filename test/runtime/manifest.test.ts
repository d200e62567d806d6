import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { loadManifest, type ManifestResult } from '../../runtime/manifest.js';

let root = '';

test.before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plugrun-manifest-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

const base = { name: 'notes', version: '1.0.0', description: 'Keeps notes', author: 'Ada', license: 'MIT' };

let counter = 0;

/** Writes `content` as plugin.json in a fresh folder named `folder` and loads it. */
const load = async (content: string | Uint8Array | object, folder = 'notes'): Promise<ManifestResult> => {
  counter += 1;
  const dir = path.join(root, String(counter), folder);
  await mkdir(dir, { recursive: true });
  const bytes = typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content, null, 2);
  await writeFile(path.join(dir, 'plugin.json'), bytes);
  return loadManifest(dir, folder);
};

const problemsOf = (result: ManifestResult) => {
  if (result.ok) throw new Error(`expected an invalid manifest, got ${JSON.stringify(result.manifest)}`);
  return result.problems;
};

test('manifest minimal gets defaults', async () => {
  const result = await load(base);
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.is(result.manifest.main, 'index.js');
  assert.equal(result.manifest.capabilities, []);
  assert.equal(result.manifest.dependencies, []);
  assert.is(result.manifest.loadOrder, 0);
});

test('manifest returns the exact bytes read', async () => {
  const text = `\uFEFF${JSON.stringify(base)}\r\n`;
  const result = await load(text);
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.equal(Buffer.from(result.bytes), Buffer.from(text));
});

const validCases: { name: string; fields: object; check: (manifest: Record<string, unknown>) => void }[] = [
  { name: 'prerelease version', fields: { version: '1.0.0-beta.1' }, check: (m) => assert.is(m.version, '1.0.0-beta.1') },
  { name: 'build metadata', fields: { version: '1.2.3+build.7' }, check: (m) => assert.is(m.version, '1.2.3+build.7') },
  { name: 'main normalised', fields: { main: './lib//main.js' }, check: (m) => assert.is(m.main, 'lib/main.js') },
  { name: 'main inner dots', fields: { main: 'lib/./a.js' }, check: (m) => assert.is(m.main, 'lib/a.js') },
  {
    name: 'capabilities normalised',
    fields: { capabilities: ['net:API.Example.COM.', 'fs:./exports', 'db:notes'] },
    check: (m) => assert.equal(m.capabilities, ['net:api.example.com', 'fs:exports/', 'db:notes']),
  },
  { name: 'dependencies kept', fields: { dependencies: ['db-core', 'auth_2'] }, check: (m) => assert.equal(m.dependencies, ['db-core', 'auth_2']) },
  { name: 'loadOrder kept', fields: { loadOrder: 7 }, check: (m) => assert.is(m.loadOrder, 7) },
  { name: '$schema allowed', fields: { $schema: 'https://example.org/plugin.schema.json' }, check: (m) => assert.is(m.name, 'notes') },
];

for (const { name, fields, check } of validCases) {
  test(`manifest accepts ${name}`, async () => {
    const result = await load({ ...base, ...fields });
    if (!result.ok) assert.unreachable(JSON.stringify(result.problems));
    else check(result.manifest as Record<string, unknown>);
  });
}

test('manifest accepts a 64-character name', async () => {
  const name = `a${'-'.repeat(62)}z`;
  const result = await load({ ...base, name }, name);
  assert.ok(result.ok);
});

/** Each case: the fields merged over a valid manifest, the field reported and a fragment of the message. */
const invalidCases: { name: string; fields: Record<string, unknown>; field: string; message: string; fix?: string }[] = [
  { name: 'name missing', fields: { name: undefined }, field: 'name', message: 'required field is missing' },
  { name: 'name uppercase', fields: { name: 'Notes' }, field: 'name', message: 'invalid plugin name "Notes"', fix: 'lowercase' },
  { name: 'name too long', fields: { name: 'a'.repeat(65) }, field: 'name', message: 'invalid plugin name' },
  { name: 'name leading dash', fields: { name: '-notes' }, field: 'name', message: 'invalid plugin name "-notes"' },
  { name: 'name differs from folder', fields: { name: 'other' }, field: 'name', message: 'name "other" differs from the folder name "notes"', fix: 'set "name" to "notes"' },
  { name: 'version missing', fields: { version: undefined }, field: 'version', message: 'required field is missing' },
  { name: 'version two parts', fields: { version: '1.2' }, field: 'version', message: 'invalid semantic version "1.2"', fix: '"1.0.0-beta.1"' },
  { name: 'version leading v', fields: { version: 'v1.2.3' }, field: 'version', message: 'invalid semantic version "v1.2.3"' },
  { name: 'version padded', fields: { version: ' 1.2.3' }, field: 'version', message: 'invalid semantic version' },
  { name: 'version number', fields: { version: 1 }, field: 'version', message: 'must be a string, found 1' },
  { name: 'description empty', fields: { description: '' }, field: 'description', message: 'must not be empty' },
  { name: 'author blank', fields: { author: '   ' }, field: 'author', message: 'must not be empty' },
  { name: 'license number', fields: { license: 5 }, field: 'license', message: 'must be a string, found 5' },
  { name: 'main absolute', fields: { main: '/etc/passwd' }, field: 'main', message: 'absolute path "/etc/passwd"' },
  { name: 'main drive letter', fields: { main: 'C:/x.js' }, field: 'main', message: 'absolute path' },
  { name: 'main parent', fields: { main: '../other/index.js' }, field: 'main', message: 'found ".."' },
  { name: 'main inner parent', fields: { main: 'lib/../../x.js' }, field: 'main', message: 'found ".."' },
  { name: 'main backslash', fields: { main: 'lib\\index.js' }, field: 'main', message: 'backslash' },
  { name: 'main empty', fields: { main: '' }, field: 'main', message: 'must not be empty' },
  { name: 'main folder', fields: { main: 'lib/' }, field: 'main', message: 'must name a file' },
  { name: 'main dot', fields: { main: '.' }, field: 'main', message: 'must name a file' },
  { name: 'capabilities not array', fields: { capabilities: 'net:a.com' }, field: 'capabilities', message: 'must be a JSON array' },
  { name: 'capability not string', fields: { capabilities: ['db:a', 3] }, field: 'capabilities[1]', message: 'must be a string, found 3' },
  {
    name: 'capability invalid',
    fields: { capabilities: ['db:notes', 'net:', 'fs:exports/'] },
    field: 'capabilities[1]',
    message: 'invalid capability "net:"',
  },
  { name: 'capability unknown kind', fields: { capabilities: ['disk:/'] }, field: 'capabilities[0]', message: 'Valid forms: fs:<dir>/, fs.read:<dir>/, net:<host>' },
  {
    name: 'capability duplicate after normalisation',
    fields: { capabilities: ['net:example.com', 'db:a', 'net:EXAMPLE.com.'] },
    field: 'capabilities[2]',
    message: 'repeats capabilities[0] ("net:example.com"), both are net:example.com',
  },
  { name: 'dependency invalid name', fields: { dependencies: ['ok', 'Bad Name'] }, field: 'dependencies[1]', message: 'invalid plugin name "Bad Name"' },
  { name: 'dependency duplicate', fields: { dependencies: ['a', 'b', 'a'] }, field: 'dependencies[2]', message: '"a" repeats dependencies[0]' },
  { name: 'dependency on itself', fields: { dependencies: ['a', 'notes'] }, field: 'dependencies[1]', message: 'plugin "notes" names itself as a dependency' },
  { name: 'loadOrder negative', fields: { loadOrder: -1 }, field: 'loadOrder', message: 'must not be negative, found -1' },
  { name: 'loadOrder fraction', fields: { loadOrder: 1.5 }, field: 'loadOrder', message: 'must be an integer, found 1.5' },
  { name: 'loadOrder string', fields: { loadOrder: '1' }, field: 'loadOrder', message: 'must be a number, found "1"' },
  { name: 'unknown field typo', fields: { capabilites: ['db:a'] }, field: 'capabilites', message: 'unknown field "capabilites"', fix: 'did you mean "capabilities"?' },
  { name: 'unknown field', fields: { homepage: 'x' }, field: 'homepage', message: 'unknown field "homepage"', fix: 'the allowed fields are' },
];

for (const { name, fields, field, message, fix } of invalidCases) {
  test(`manifest rejects ${name}`, async () => {
    const problems = problemsOf(await load({ ...base, ...fields }));
    const problem = problems.find((entry) => entry.field === field);
    if (problem === undefined) assert.unreachable(`no problem for ${field}: ${JSON.stringify(problems)}`);
    else {
      assert.match(problem.message, message);
      if (fix !== undefined) assert.match(problem.fix, fix);
      assert.ok(problem.fix.length > 0);
      assert.match(problem.file, /plugin\.json$/);
    }
  });
}

test('manifest reports every problem at once', async () => {
  const problems = problemsOf(await load({ ...base, version: '1', license: '', loadOrder: -2, extra: true }));
  assert.equal(problems.map((problem) => problem.field).sort(), ['extra', 'license', 'loadOrder', 'version']);
});

test('manifest rejects a bad folder name', async () => {
  const problems = problemsOf(await load({ ...base, name: 'notes' }, 'My Notes'));
  assert.is(problems.length, 1);
  assert.is(problems[0]!.field, 'name');
  assert.is(problems[0]!.fix, 'rename the folder to "notes"');
});

test('manifest rejects JSON syntax with position', async () => {
  const problems = problemsOf(await load('{\n  "name": "notes",\n  "version": "1.0.0",\n}\n'));
  assert.is(problems.length, 1);
  assert.is(problems[0]!.field, '');
  assert.match(problems[0]!.message, 'is not valid JSON at line 4, column 1');
});

test('manifest rejects a JSON array', async () => {
  const problems = problemsOf(await load('[]'));
  assert.is(problems[0]!.field, '');
  assert.match(problems[0]!.message, 'must be a JSON object, found []');
  assert.match(problems[0]!.fix, 'write the manifest as a JSON object');
});

test('manifest rejects JSON null', async () => {
  const problems = problemsOf(await load('null'));
  assert.match(problems[0]!.message, 'must be a JSON object, found null');
});

test('manifest rejects an empty file', async () => {
  const problems = problemsOf(await load(''));
  assert.match(problems[0]!.message, 'is not valid JSON at line 1, column 1');
});

test('manifest rejects invalid UTF-8', async () => {
  const problems = problemsOf(await load(new Uint8Array([0x7b, 0xff, 0x7d])));
  assert.match(problems[0]!.message, 'not valid UTF-8');
});

test('manifest missing is a problem', async () => {
  const dir = path.join(root, 'empty', 'notes');
  await mkdir(dir, { recursive: true });
  const problems = problemsOf(await loadManifest(dir, 'notes'));
  assert.is(problems[0]!.message, 'file not found');
  assert.is(problems[0]!.file, path.join(dir, 'plugin.json'));
});

test('manifest that is a folder is a problem', async () => {
  const dir = path.join(root, 'folder', 'notes');
  await mkdir(path.join(dir, 'plugin.json'), { recursive: true });
  const problems = problemsOf(await loadManifest(dir, 'notes'));
  assert.match(problems[0]!.message, 'not a regular file');
});

test('manifest that is a symlink is a problem', async () => {
  const dir = path.join(root, 'linked', 'notes');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(root, 'linked', 'outside.json'), JSON.stringify(base));
  await symlink(path.join(root, 'linked', 'outside.json'), path.join(dir, 'plugin.json'));
  const problems = problemsOf(await loadManifest(dir, 'notes'));
  assert.is(problems[0]!.message, 'is a symbolic link');
});

test('manifest over the size cap is a problem', async () => {
  const problems = problemsOf(await load({ ...base, description: 'x'.repeat(300 * 1024) }));
  assert.match(problems[0]!.message, /bytes, more than the maximum of 262144/);
});

test('manifest escapes control characters in messages', async () => {
  const problems = problemsOf(await load({ ...base, version: '1.0\u001b[31m\u202e' }));
  assert.not.match(problems[0]!.message, '\u001b');
  assert.not.match(problems[0]!.message, '\u202e');
  assert.match(problems[0]!.message, '\\u001b');
});

test.run();
