import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { makeProject, parseNdjson, repoRoot, runCli, type TestProject } from '../helpers/project.js';

/** Copies the repository's plugins and lockfile into a fresh project, as a newcomer's clone has them. */
const withBundledProject = (body: (project: TestProject) => Promise<void>) => async () => {
  const project = makeProject();
  try {
    fs.cpSync(path.join(repoRoot, 'plugins'), path.join(project.dir, 'plugins'), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'plugin.lock.json'), path.join(project.dir, 'plugin.lock.json'));
    await body(project);
  } finally {
    project.remove();
  }
};

test('bundled plugins are locked and start', withBundledProject(async (project) => {
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  for (const name of ['ticker', 'notes', 'greeter', 'feed']) {
    assert.ok(events.some((event) => event.plugin === name && event.op === 'start' && event.outcome === 'allowed'), `${name} started`);
  }
  const feedDenied = events.find((event) => event.plugin === 'feed' && event.cap === 'net');
  assert.is(feedDenied?.outcome, 'denied', 'the feed host is not granted, so nothing leaves the machine');
  assert.is(feedDenied?.needed, 'net:api.example.com');
}));

test('notes plugin adds, searches and exports', withBundledProject(async (project) => {
  const add = await runCli(['call', 'notes', 'add', '{"text":"hello"}'], { cwd: project.dir });
  assert.is(add.code, 0, add.stderr);
  assert.equal(JSON.parse(add.stdout), { id: 1 });
  await runCli(['call', 'notes', 'add', '{"text":"buy <milk> 50% off","tags":["home"]}'], { cwd: project.dir });

  const search = await runCli(['call', 'notes', 'search', '{"q":"50%"}'], { cwd: project.dir });
  assert.equal(JSON.parse(search.stdout), [{ id: 2, text: 'buy <milk> 50% off' }]);

  const exported = await runCli(['call', 'notes', 'export'], { cwd: project.dir });
  assert.is(exported.code, 0, exported.stderr);
  assert.is(JSON.parse(exported.stdout).notes, 2);
  const html = project.read('.plugrun/data/notes/exports/notes.html');
  assert.match(html, '<li>hello, ');
  assert.match(html, 'buy &lt;milk&gt; 50% off', 'note text is escaped, not rendered as HTML');
  assert.match(project.read('.plugrun/data/notes/exports/notes.md'), '# Notes');
}));

test('greeter records greetings through notes', withBundledProject(async (project) => {
  const greet = await runCli(['call', 'greeter', 'greet', '{"name":"Ada"}'], { cwd: project.dir });
  assert.is(greet.code, 0, greet.stderr);
  assert.is(JSON.parse(greet.stdout).note, 1);
  const list = await runCli(['call', 'notes', 'list'], { cwd: project.dir });
  assert.is(JSON.parse(list.stdout)[0].text, 'Greeted Ada');
}));

test.run();
