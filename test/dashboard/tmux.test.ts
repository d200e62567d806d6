/**
 * The dashboard end to end: the real `plugrun start` in a real tmux pane on
 * a private tmux socket, read with capture-pane, while `plugrun grant` and
 * `plugrun revoke` run as other processes.
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { cliPath, lockProject, repoRoot, runCli, withProject, type TestProject } from '../helpers/project.js';

const TMUX = '/usr/bin/tmux';
const traceHook = path.join(repoRoot, 'dist/test/helpers/module-trace.js');

const writer = {
  writer: {
    manifest: { capabilities: ['fs:out/'] },
    files: {
      'index.js': `
        export async function start(ctx) {
          setInterval(async () => {
            try { await ctx.fs.writeFile('out/x.txt', 'x'); } catch {}
          }, 100);
        }
        export async function stop(ctx) { ctx.log.info('stop hook ran'); }
      `,
    },
  },
};

/** Returns helpers for a tmux server of its own, on a socket inside the test project. */
const makeTmux = (project: TestProject) => {
  const socket = path.join(project.dir, 'tmux.sock');
  const config = path.join(project.dir, 'tmux.conf');
  // The pane stays after the command exits, so its exit status can be read.
  fs.writeFileSync(config, 'set -g remain-on-exit on\n');
  const tmux = (...args: string[]) => execFileSync(TMUX, ['-S', socket, '-f', config, ...args], { encoding: 'utf8' });
  return {
    tmux,
    screen: () => tmux('capture-pane', '-p', '-t', 'dash'),
    kill: () => {
      try {
        tmux('kill-server');
      } catch {
        // Already gone.
      }
    },
  };
};

/** Polls `read()` until `predicate` holds, or throws with the last value. */
const waitFor = async (read: () => string, predicate: (text: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> => {
  const started = Date.now();
  for (;;) {
    const text = read();
    if (predicate(text)) return text;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not seen within ${timeoutMs} ms; screen:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

if (!fs.existsSync(TMUX)) {
  process.stdout.write(`\nSKIPPED dashboard tmux test: tmux is not installed at ${TMUX}\n`);
  test.skip('dashboard in a tmux pane: grant, revoke, quit (tmux missing)', () => undefined);
} else {
  test('dashboard in a tmux pane: grant, revoke, quit', withProject(writer, async (project) => {
    await lockProject(project.dir);
    const { tmux, screen, kill } = makeTmux(project);
    const trace = path.join(project.dir, 'modules.txt');
    const stderrFile = path.join(project.dir, 'stderr.txt');
    // The shell writes plugrun's exit status to a file: tmux's own record of
    // it (#{pane_dead_status}) stayed empty in some runs of the full suite.
    const statusFile = path.join(project.dir, 'status.txt');
    // CI variables are removed: under them Ink draws no frames and plugrun shows no dashboard.
    const command = `cd '${project.dir}' && env -u CI -u CONTINUOUS_INTEGRATION NODE_OPTIONS='--import=${traceHook}' PLUGRUN_MODULE_TRACE='${trace}' '${process.execPath}' '${cliPath}' start 2>'${stderrFile}'; echo $? > '${statusFile}'`;
    try {
      tmux('new-session', '-d', '-s', 'dash', '-x', '100', '-y', '30', command);

      // 1. The dashboard shows the plugin running with its request pending.
      await waitFor(screen, (text) => /● writer .* running/.test(text) && /grants none +pending fs:out\//.test(text), 'writer running, fs:out/ pending');
      await waitFor(screen, (text) => /fs\.writeFile +denied +needs fs:out\//.test(text), 'a denied write');

      // 2. A grant from another process appears, and the next write is allowed.
      const granted = await runCli(['grant', 'writer', 'fs:out/'], { cwd: project.dir });
      assert.is(granted.code, 0, granted.stderr);
      await waitFor(screen, (text) => /grants fs:out\/ *$/m.test(text) && /fs\.writeFile +allowed/.test(text), 'the grant and an allowed write');
      const events = project.auditEvents();
      const applied = events.findIndex((event) => event.op === 'grants' && event.granted?.includes('fs:out/'));
      assert.ok(applied !== -1, 'the host applied the grant');
      const nextWrite = events.slice(applied + 1).find((event) => event.op === 'writeFile');
      assert.is(nextWrite?.outcome, 'allowed');

      // 3. A revoke from another process: pending again, and writes denied.
      const revoked = await runCli(['revoke', 'writer', 'fs:out/'], { cwd: project.dir });
      assert.is(revoked.code, 0, revoked.stderr);
      await waitFor(screen, (text) => /grants none +pending fs:out\//.test(text), 'fs:out/ pending again');
      const newestWrite = (text: string) => text.split('\n').filter((line) => line.includes('fs.writeFile')).at(-1) ?? '';
      await waitFor(screen, (text) => newestWrite(text).includes('denied'), 'the newest write denied');
      const later = project.auditEvents();
      const revokedAt = later.findIndex((event) => event.op === 'grants' && event.revoked?.includes('fs:out/'));
      assert.ok(revokedAt > applied, 'the host applied the revoke');
      const writes = later.slice(revokedAt + 1).filter((event) => event.op === 'writeFile');
      // Writes checked just before the revoke may be recorded just after it
      // (a write runs every 100 ms); none is allowed after the first denial.
      const firstDenied = writes.findIndex((event) => event.outcome === 'denied');
      assert.ok(firstDenied !== -1, 'a write was denied after the revoke');
      assert.ok(firstDenied <= 2, `first denied write at ${firstDenied}`);
      assert.ok(writes.slice(firstDenied).every((event) => event.outcome === 'denied'), 'no write allowed after the first denial');

      // 4. q stops the plugins, runs the stop hook, leaves the alternate screen and exits 0.
      assert.is(tmux('display-message', '-p', '-t', 'dash', '#{alternate_on}').trim(), '1');
      tmux('send-keys', '-t', 'dash', 'q');
      const status = await waitFor(() => (fs.existsSync(statusFile) ? fs.readFileSync(statusFile, 'utf8') : ''), (text) => text.endsWith('\n'), 'the exit status');
      assert.is(status.trim(), '0', `exit status ${status.trim()}; stderr: ${fs.readFileSync(stderrFile, 'utf8')}`);
      assert.is(tmux('display-message', '-p', '-t', 'dash', '#{alternate_on}').trim(), '0');
      const final = project.auditEvents();
      assert.ok(final.some((event) => event.cap === 'log' && event.message === 'stop hook ran'), 'the stop hook ran');
      assert.ok(final.some((event) => event.cap === 'runtime' && event.op === 'stop' && event.outcome === 'allowed'), 'a stop event');
      assert.not.match(screen(), 'Plugins (1)');

      // The trace shows Ink was loaded here, so the lazy-loading test's trace can see it.
      assert.match(fs.readFileSync(trace, 'utf8'), /\/node_modules\/ink\//);
    } finally {
      kill();
    }
  }));

  test('under CI a terminal gets one line per event, not the dashboard', withProject(writer, async (project) => {
    await lockProject(project.dir);
    const { tmux, screen, kill } = makeTmux(project);
    const statusFile = path.join(project.dir, 'status.txt');
    const command = `cd '${project.dir}' && env CI=true '${process.execPath}' '${cliPath}' start; echo $? > '${statusFile}'`;
    try {
      tmux('new-session', '-d', '-s', 'dash', '-x', '120', '-y', '30', command);
      const text = await waitFor(screen, (screenText) => /writer +fs\.writeFile .*denied/.test(screenText), 'a denied write as a line');
      // The message is longer than the pane is wide, so its wrapped lines are joined.
      const joined = text.replace(/\n/g, '');
      assert.match(joined, 'no dashboard: CI is set');
      assert.match(joined, 'unset CI to see the dashboard');
      assert.not.match(text, 'Plugins (1)');
      assert.is(tmux('display-message', '-p', '-t', 'dash', '#{alternate_on}').trim(), '0');
      tmux('send-keys', '-t', 'dash', 'C-c');
      const status = await waitFor(() => (fs.existsSync(statusFile) ? fs.readFileSync(statusFile, 'utf8') : ''), (statusText) => statusText.endsWith('\n'), 'the exit status');
      assert.is(status.trim(), '0');
      assert.ok(project.auditEvents().some((event) => event.cap === 'log' && event.message === 'stop hook ran'), 'the stop hook ran');
    } finally {
      kill();
    }
  }));
}

test.run();
