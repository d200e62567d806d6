import { spawn } from 'node:child_process';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { cliPath, lockProject, parseNdjson, runCli, spawnCli, withProject } from '../helpers/project.js';

/** A plugin that logs every 20 ms for as long as it runs, so stdout keeps receiving events. */
const ticker = {
  ticker: {
    files: {
      'index.js': `
        export async function start(ctx) { setInterval(() => ctx.log.info('tick'), 20); }
        export const commands = { echo: (input) => input };
      `,
    },
  },
};

/** Runs a bash pipeline in `cwd`; returns its stdout and the exit status of the first command. */
const runPipeline = (script: string, cwd: string) =>
  new Promise<{ stdout: string; stderr: string; status: number }>((resolve, reject) => {
    const child = spawn('bash', ['-c', `${script}; echo "status=\${PIPESTATUS[0]}" >&2`], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const status = Number(/status=(\d+)/.exec(stderr)?.[1] ?? -1);
      resolve({ stdout, stderr: stderr.replace(/status=\d+\n/, ''), status });
    });
  });

test('start piped to head exits cleanly', withProject(ticker, async (project) => {
  await lockProject(project.dir);
  const result = await runPipeline(`node ${JSON.stringify(cliPath)} start --no-tui | head -1`, project.dir);
  assert.is(result.status, 0, result.stderr);
  assert.is(parseNdjson(result.stdout).length, 1);
  assert.is(result.stderr, 'plugrun: running ticker; press Ctrl-C to stop\n', 'no error, no stack trace');

  // The plugins were stopped gracefully, not killed.
  const events = project.auditEvents();
  assert.ok(events.some((event) => event.cap === 'runtime' && event.op === 'stop' && event.outcome === 'allowed'));
  assert.is((await runCli(['audit', 'verify'], { cwd: project.dir })).code, 0);
}));

test('start output parses as NDJSON through head -3', withProject(ticker, async (project) => {
  await lockProject(project.dir);
  const result = await runPipeline(`node ${JSON.stringify(cliPath)} start --no-tui | head -3`, project.dir);
  assert.is(result.status, 0, result.stderr);
  const events = parseNdjson(result.stdout);
  assert.is(events.length, 3);
  assert.equal(events.map((event) => event.seq), [1, 2, 3]);
}));

test('call reads JSON input piped on stdin', withProject(ticker, async (project) => {
  await lockProject(project.dir);
  const result = await runPipeline(`echo '{"n":[1,2]}' | node ${JSON.stringify(cliPath)} call ticker echo -`, project.dir);
  assert.equal(JSON.parse(result.stdout), { n: [1, 2] });
  const bad = await runCli(['call', 'ticker', 'echo', '-'], { cwd: project.dir, input: '{oops' });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /invalid JSON input from stdin/);
}));

test('completion prints the yargs script', withProject({}, async (project) => {
  const result = await runCli(['completion'], { cwd: project.dir });
  assert.is(result.code, 0);
  assert.match(result.stdout, /plugrun/);
  assert.match(result.stdout, /--get-yargs-completions/);
  assert.is(result.stderr, '');
  const words = await runCli(['--get-yargs-completions', 'plugrun', 'au'], { cwd: project.dir });
  assert.match(words.stdout, /^audit/m);
}));

test('colour follows NO_COLOR and FORCE_COLOR', withProject({}, async (project) => {
  project.write('.plugrun/audit.ndjson', `${JSON.stringify({ v: 2, seq: 1, time: '2026-12-04T19:30:00.000Z', plugin: 'a', cap: 'log', op: 'info', outcome: 'allowed', hash: 'sha256-x' })}\n`);
  const forced = await runCli(['audit'], { cwd: project.dir, env: { NO_COLOR: '', FORCE_COLOR: '1' } });
  assert.ok(forced.stdout.includes('\u001b[32mallowed'), 'FORCE_COLOR colours a pipe');
  const plain = await runCli(['audit'], { cwd: project.dir, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
  assert.not.ok(plain.stdout.includes('\u001b['), 'NO_COLOR wins');
}));

test('grant during start keeps one chain', withProject(ticker, async (project) => {
  await lockProject(project.dir);
  const host = spawnCli(['start', '--no-tui'], { cwd: project.dir });
  const closed = new Promise((resolve) => host.on('close', resolve));
  host.stdout!.resume();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  for (let round = 0; round < 3; round += 1) {
    assert.is((await runCli(['grant', 'ticker', 'fs:x/'], { cwd: project.dir })).code, 0);
    assert.is((await runCli(['revoke', 'ticker', 'fs:x/'], { cwd: project.dir })).code, 0);
  }
  host.kill('SIGTERM');
  await closed;
  const verify = await runCli(['audit', 'verify'], { cwd: project.dir });
  assert.is(verify.code, 0, verify.stderr);
  const ops = project.auditEvents().map((event) => event.op);
  assert.is(ops.filter((op) => op === 'grant').length, 3);
  assert.is(ops.filter((op) => op === 'tick' || op === 'info').length > 10, true, 'the host kept writing meanwhile');
}));

test('follow stops when its reader goes away', withProject(ticker, async (project) => {
  await lockProject(project.dir);
  await runCli(['start', '--once'], { cwd: project.dir });
  const script = `node ${JSON.stringify(cliPath)} audit --follow --json | head -1`;
  const result = await runPipeline(`(sleep 1; node ${JSON.stringify(cliPath)} grant ticker fs:y/ >/dev/null 2>&1) & ${script}`, project.dir);
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stderr, '');
}));

test.run();
