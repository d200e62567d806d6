import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { parseTimeOption } from '../../cli/commands/audit.js';
import { lockProject, parseNdjson, runCli, spawnCli, withProject, type TestProject } from '../helpers/project.js';

const plugin = {
  notes: {
    files: {
      'index.js': `
        export async function start(ctx) {
          await ctx.config.set('runs', 1);
          try { await ctx.fs.writeFile('exports/a.txt', 'x'); } catch {}
          ctx.log.info('hello \\u001b[31mred\\u202e');
        }
      `,
    },
  },
};

/** Writes hand-made events with chosen times, as a log of earlier runs would hold them. */
const writeOldEvents = (project: TestProject, events: Array<Record<string, unknown>>) => {
  const lines = events.map((event, index) => JSON.stringify({ v: 2, seq: index + 1, ...event, hash: 'sha256-x' }));
  project.write('.plugrun/audit.ndjson', `${lines.join('\n')}\n`);
};

/** Resolves with the complete stdout lines of a running child once there are `count` of them. */
const waitForLines = (child: ReturnType<typeof spawnCli>, count: number, timeoutMs = 20_000) =>
  new Promise<string[]>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`fewer than ${count} lines within ${timeoutMs} ms; got: ${buffer}`)), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n').slice(0, -1);
      if (lines.length >= count) {
        clearTimeout(timer);
        resolve(lines);
      }
    });
  });

const exited = (child: ReturnType<typeof spawnCli>) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stderr }));
  });

test('time options take ISO and relative forms', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  assert.is(parseTimeOption('since', '10m', now), now - 600_000);
  assert.is(parseTimeOption('since', '2h', now), now - 7_200_000);
  assert.is(parseTimeOption('since', '30s', now), now - 30_000);
  assert.is(parseTimeOption('since', '7d', now), now - 7 * 86_400_000);
  assert.is(parseTimeOption('since', '2026-12-04T19:30:00Z', now), Date.parse('2026-12-04T19:30:00Z'));
  assert.is(parseTimeOption('since', '2026-12-04', now), Date.parse('2026-12-04T00:00:00Z'));
  for (const bad of ['10x', 'yesterday', '-5m', '2026-13-45', '']) {
    assert.throws(() => parseTimeOption('since', bad, now), /invalid --since/, bad);
  }
});

test('audit prints a table and NDJSON', withProject(plugin, async (project) => {
  await lockProject(project.dir);
  assert.is((await runCli(['start', '--once'], { cwd: project.dir })).code, 0);

  const table = await runCli(['audit'], { cwd: project.dir });
  assert.is(table.code, 0, table.stderr);
  const [heading, ...rows] = table.stdout.trimEnd().split('\n');
  assert.match(heading!, /^SEQ\s+TIME\s+PLUGIN\s+EVENT\s+OUTCOME\s+MS\s+TARGET\s+DETAIL$/);
  assert.ok(rows.some((row) => /fs\.writeFile\s+denied/.test(row) && row.includes('needs fs:exports/')));
  const logRow = rows.find((row) => row.includes('log.info'))!;
  assert.ok(logRow.includes('hello \\u001b[31mred\\u202e'), 'plugin text escaped in the table');
  assert.not.ok(table.stdout.includes('\u001b'), 'no raw escape byte');
  assert.not.ok(table.stdout.includes('\u202e'), 'no raw bidi mark');

  const json = await runCli(['audit', '--json'], { cwd: project.dir });
  assert.is(json.code, 0);
  assert.is(json.stderr, '');
  assert.not.ok(json.stdout.includes('\u202e'), 'no raw bidi mark in NDJSON');
  const events = parseNdjson(json.stdout);
  assert.equal(events, project.auditEvents(), 'NDJSON is the log');
}));

test('audit filters by field', withProject(plugin, async (project) => {
  await lockProject(project.dir);
  await runCli(['start', '--once'], { cwd: project.dir });
  const run = async (...args: string[]) => parseNdjson((await runCli(['audit', '--json', ...args], { cwd: project.dir })).stdout);

  const denied = await run('--outcome', 'denied');
  assert.is(denied.length, 1);
  assert.is(denied[0]!.op, 'writeFile');
  assert.ok((await run('--cap', 'runtime')).every((event) => event.cap === 'runtime'));
  assert.ok((await run('--cap', 'config', '--cap', 'log')).every((event) => event.cap === 'config' || event.cap === 'log'));
  assert.equal((await run('--op', 'set')).map((event) => event.target), ['runs']);
  assert.is((await run('--plugin', 'other')).length, 0);
  const all = await run();
  const lastTwo = await run('--limit', '2');
  assert.equal(lastTwo, all.slice(-2), '--limit keeps the newest');
}));

test('audit filters by time', withProject({}, async (project) => {
  const now = Date.now();
  writeOldEvents(project, [
    { time: new Date(now - 3 * 3_600_000).toISOString(), plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed' },
    { time: new Date(now - 20 * 60_000).toISOString(), plugin: 'b', cap: 'log', op: 'info', outcome: 'allowed' },
    { time: new Date(now - 60_000).toISOString(), plugin: 'c', cap: 'log', op: 'info', outcome: 'allowed' },
  ]);
  const plugins = async (...args: string[]) => parseNdjson((await runCli(['audit', '--json', ...args], { cwd: project.dir })).stdout).map((event) => event.plugin);

  assert.equal(await plugins('--since', '1h'), ['b', 'c']);
  assert.equal(await plugins('--since', '10m'), ['c']);
  assert.equal(await plugins('--until', '10m'), ['a', 'b']);
  assert.equal(await plugins('--since', '2h', '--until', '5m'), ['b']);
  assert.equal(await plugins('--since', new Date(now - 30 * 60_000).toISOString()), ['b', 'c']);
}));

test('audit rejects bad options', withProject({}, async (project) => {
  for (const args of [['--since', 'soon'], ['--until', '5 minutes'], ['--limit', '0'], ['--outcome', 'maybe'], ['--cap', 'nets']]) {
    const result = await runCli(['audit', ...args], { cwd: project.dir });
    assert.is(result.code, 2, args.join(' '));
    assert.is(result.stdout, '');
    assert.match(result.stderr, /^plugrun: /);
  }
}));

test('audit verify names a break', withProject(plugin, async (project) => {
  await lockProject(project.dir);
  await runCli(['start', '--once'], { cwd: project.dir });
  const intact = await runCli(['audit', 'verify'], { cwd: project.dir });
  assert.is(intact.code, 0, intact.stderr);
  assert.match(intact.stderr, /audit chain intact: \d+ events in 1 file/);

  const file = path.join(project.dir, '.plugrun/audit.ndjson');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('"outcome":"allowed"', '"outcome":"denied"');
  fs.writeFileSync(file, lines.join('\n'));
  const broken = await runCli(['audit', 'verify'], { cwd: project.dir });
  assert.is(broken.code, 1);
  assert.ok(broken.stderr.includes(`audit chain broken (edited): ${file}:2`), broken.stderr);

  const json = await runCli(['audit', 'verify', '--json'], { cwd: project.dir });
  assert.is(json.code, 1);
  assert.is(JSON.parse(json.stdout).break.line, 2);
}));

test('invalid rotation setting is a usage error', withProject(plugin, async (project) => {
  await lockProject(project.dir);
  project.write('plugrun.config.json', JSON.stringify({ audit: { maxSize: '10 parsecs', keep: -1 } }));
  const result = await runCli(['start', '--once'], { cwd: project.dir });
  assert.is(result.code, 2);
  assert.match(result.stderr, /plugrun\.config\.json: audit\.maxSize: invalid size "10 parsecs"/);
  assert.match(result.stderr, /audit\.keep/);
}));

test('follow sees events of another process across rotation', withProject(plugin, async (project) => {
  await lockProject(project.dir);
  project.write('plugrun.config.json', JSON.stringify({ audit: { maxSize: '1KiB', keep: 20 } }));
  await runCli(['start', '--once'], { cwd: project.dir });

  const follower = spawnCli(['audit', '--follow', '--json', '--cap', 'runtime', '--op', 'grant', '--op', 'revoke'], { cwd: project.dir });
  const done = exited(follower);
  const seen = waitForLines(follower, 8);
  // The follower reads the log before it follows; give it a moment so these events arrive as new ones.
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Each event is about 260 bytes, so the 1 KiB files rotate every few events.
  for (let round = 0; round < 4; round += 1) {
    assert.is((await runCli(['grant', 'notes', 'fs:exports/'], { cwd: project.dir })).code, 0);
    assert.is((await runCli(['revoke', 'notes', 'fs:exports/'], { cwd: project.dir })).code, 0);
  }
  const lines = await seen;
  follower.kill('SIGINT');
  const followed = parseNdjson(lines.join('\n'));
  assert.equal(followed.map((event) => event.op), ['grant', 'revoke', 'grant', 'revoke', 'grant', 'revoke', 'grant', 'revoke']);
  const written = await runCli(['audit', '--json', '--op', 'grant', '--op', 'revoke'], { cwd: project.dir });
  assert.equal(followed, parseNdjson(written.stdout), 'every event once, as written');
  const { code, stderr } = await done;
  assert.is(code, 0, stderr);

  const rotated = fs.readdirSync(path.join(project.dir, '.plugrun')).filter((name) => /^audit\.\d+\.ndjson$/.test(name));
  assert.ok(rotated.length >= 2, `the log rotated into ${rotated.length} files while followed`);
  assert.is((await runCli(['audit', 'verify'], { cwd: project.dir })).code, 0);
}));

test.run();
