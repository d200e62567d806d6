import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { discoverPlugins } from '../../runtime/discovery.js';

let root = '';

const manifest = (name: string, extra: object = {}) =>
  JSON.stringify({ name, version: '1.0.0', description: `The ${name} plugin`, author: 'Ada', license: 'MIT', ...extra });

const addFolder = async (pluginsDir: string, folder: string, manifestText?: string) => {
  await mkdir(path.join(pluginsDir, folder), { recursive: true });
  if (manifestText !== undefined) await writeFile(path.join(pluginsDir, folder, 'plugin.json'), manifestText);
};

test.before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'plugrun-discovery-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('discovery separates valid and invalid plugins', async () => {
  const pluginsDir = path.join(root, 'mixed');
  await addFolder(pluginsDir, 'beta', manifest('beta', { version: 'one' }));
  await addFolder(pluginsDir, 'alpha', manifest('alpha', { capabilities: ['db:notes'] }));
  await addFolder(pluginsDir, 'gamma', '{ not json');
  await addFolder(pluginsDir, 'delta', manifest('delta'));

  const found = await discoverPlugins(pluginsDir);

  assert.equal(found.valid.map((plugin) => plugin.name), ['alpha', 'delta']);
  assert.equal(found.invalid.map((plugin) => plugin.name), ['beta', 'gamma']);
  assert.equal(found.notes, []);
  assert.is(found.valid[0]!.dir, path.join(pluginsDir, 'alpha'));
  assert.equal(found.valid[0]!.manifest.capabilities, ['db:notes']);
  assert.is(Buffer.from(found.valid[0]!.manifestBytes).toString(), manifest('alpha', { capabilities: ['db:notes'] }));
  assert.is(found.invalid[0]!.problems[0]!.field, 'version');
  assert.match(found.invalid[1]!.problems[0]!.message, 'is not valid JSON');
});

test('discovery reports a folder without plugin.json', async () => {
  const pluginsDir = path.join(root, 'no-manifest');
  await addFolder(pluginsDir, 'shared');
  await addFolder(pluginsDir, 'notes', manifest('notes'));

  const found = await discoverPlugins(pluginsDir);

  assert.equal(found.valid.map((plugin) => plugin.name), ['notes']);
  assert.equal(found.invalid, []);
  assert.is(found.notes.length, 1);
  assert.is(found.notes[0]!.file, path.join(pluginsDir, 'shared'));
  assert.match(found.notes[0]!.message, 'has no plugin.json');
});

test('discovery ignores dot-folders and plain files', async () => {
  const pluginsDir = path.join(root, 'ignored');
  await addFolder(pluginsDir, '.git', manifest('git'));
  await addFolder(pluginsDir, '.cache');
  await addFolder(pluginsDir, 'notes', manifest('notes'));
  await writeFile(path.join(pluginsDir, 'README.md'), '# plugins\n');
  await writeFile(path.join(pluginsDir, 'plugin.json'), manifest('stray'));

  const found = await discoverPlugins(pluginsDir);

  assert.equal(found.valid.map((plugin) => plugin.name), ['notes']);
  assert.equal(found.invalid, []);
  assert.equal(found.notes, []);
});

test('discovery follows a symlinked plugin folder', async () => {
  const pluginsDir = path.join(root, 'linked');
  await addFolder(path.join(root, 'elsewhere'), 'weather', manifest('weather'));
  await mkdir(pluginsDir, { recursive: true });
  await symlink(path.join(root, 'elsewhere', 'weather'), path.join(pluginsDir, 'weather'), 'dir');

  const found = await discoverPlugins(pluginsDir);

  assert.equal(found.valid.map((plugin) => plugin.name), ['weather']);
});

test('discovery rejects a name that differs from its folder', async () => {
  const pluginsDir = path.join(root, 'renamed');
  await addFolder(pluginsDir, 'notes-copy', manifest('notes'));

  const found = await discoverPlugins(pluginsDir);

  assert.equal(found.valid, []);
  assert.is(found.invalid[0]!.name, 'notes-copy');
  assert.is(found.invalid[0]!.problems[0]!.field, 'name');
});

test('discovery of a missing folder is empty with a note', async () => {
  const pluginsDir = path.join(root, 'does-not-exist');

  const found = await discoverPlugins(pluginsDir);

  assert.equal(found.valid, []);
  assert.equal(found.invalid, []);
  assert.is(found.notes.length, 1);
  assert.is(found.notes[0]!.file, pluginsDir);
  assert.is(found.notes[0]!.message, 'plugins folder not found');
  assert.match(found.notes[0]!.fix, '--plugins-dir');
});

test('discovery of a file is empty with a note', async () => {
  const file = path.join(root, 'plugins-file');
  await writeFile(file, 'not a folder');

  const found = await discoverPlugins(file);

  assert.equal(found.valid, []);
  assert.match(found.notes[0]!.message, 'is a file, not a folder');
});

test('discovery of an empty folder finds nothing', async () => {
  const pluginsDir = path.join(root, 'empty');
  await mkdir(pluginsDir);

  assert.equal(await discoverPlugins(pluginsDir), { valid: [], invalid: [], notes: [] });
});

test.run();
