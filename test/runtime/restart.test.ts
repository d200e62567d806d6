import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { AuditLog, type AuditEvent } from '../../runtime/audit.js';
import { Host } from '../../runtime/host.js';
import { resolveProject } from '../../runtime/project.js';
import type { PluginState } from '../../runtime/supervisor.js';
import { editLockfile, lockProject, runCli, withProject, type TestProject } from '../helpers/project.js';

/** Waits until `predicate` holds for the events written so far, for at most `timeoutMs`. */
const waitForEvents = (events: AuditEvent[], predicate: (events: AuditEvent[]) => boolean, timeoutMs = 60_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (predicate(events)) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`events did not arrive within ${timeoutMs} ms: ${JSON.stringify(events.slice(-6))}`));
      }
    }, 25);
  });

/** Runs a host over the project until `until` holds, recording every state it reports for `watched`. */
const runHost = async (project: TestProject, watched: string, until: (events: AuditEvent[]) => boolean) => {
  const paths = resolveProject({ dir: project.dir });
  const audit = new AuditLog(paths.auditLog);
  const events: AuditEvent[] = [];
  audit.subscribe((event) => events.push(event));
  const states: PluginState[] = [];
  const messages: string[] = [];
  const host = new Host({
    project: paths,
    audit,
    report: (message) => messages.push(message),
    onStateChange: (name, state) => {
      if (name === watched) states.push(state);
    },
  });
  const seenReports: string[] = [];
  const sampler = setInterval(() => {
    const report = host.plugins.find((plugin) => plugin.name === watched);
    if (report !== undefined && seenReports.at(-1) !== report.state) seenReports.push(report.state);
  }, 20);
  try {
    await host.load();
    await host.startAll();
    const unwatch = host.watchGrants(50);
    try {
      await waitForEvents(events, until);
    } finally {
      unwatch();
    }
    return { host, events, states, messages, seenReports, finalReport: host.plugins.find((plugin) => plugin.name === watched) };
  } finally {
    clearInterval(sampler);
    await host.stopAll();
    audit.close();
  }
};

const crasher = {
  files: {
    'index.js': `
      export async function start(ctx) {
        await ctx.fs.appendFile('data/starts.txt', 'start\\n');
        await ctx.db.createTable('starts', { columns: { at: { type: 'number' } } }).catch(() => {});
        await ctx.db.insert('starts', { at: Date.now() });
        ctx.log.info('started');
        // Soon after each start, a timer spins forever: the host must stop it.
        ctx.timers.setTimeout(() => { for (;;) {} }, 100);
      }
      export const commands = { async count(_input, ctx) { return (await ctx.db.select('starts')).length; } };
    `,
  },
};

test('crash restarts with backoff, then stays crashed', withProject({ crasher }, async (project) => {
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.crasher.grants = ['db:starts', 'fs:data/'];
    lockfile.plugins.crasher.limits = { callTimeoutMs: 800, restartLimit: 2, restartBackoffMs: 100 };
  });

  const run = await runHost(project, 'crasher', (events) =>
    events.some((event) => event.plugin === 'crasher' && event.op === 'restart' && event.outcome === 'error'));

  const ofCrasher = run.events.filter((event) => event.plugin === 'crasher');
  assert.is(ofCrasher.filter((event) => event.message === 'started').length, 3, 'started once and restarted twice');
  const limits = ofCrasher.filter((event) => event.op === 'limit');
  assert.is(limits.length, 3);
  for (const limit of limits) assert.is(limit.limit, 'callTimeoutMs');
  const restarts = ofCrasher.filter((event) => event.op === 'restart' && event.outcome === 'allowed');
  assert.equal(restarts.map((event) => event.delayMs), [100, 200], 'the delay doubles');
  const last = ofCrasher.find((event) => event.op === 'restart' && event.outcome === 'error')!;
  assert.is((last.error as { code: string }).code, 'PLUGRUN_LIMIT');
  assert.match((last.error as { message: string }).message, 'stays stopped as crashed');

  assert.ok(run.seenReports.includes('restarting'), `the host showed the plugin as restarting (${run.seenReports.join(', ')})`);
  assert.is(run.finalReport?.state, 'crashed');
  assert.match(run.finalReport?.reason ?? '', 'did not respond');
  assert.is(run.host.exitCode(), 1);

  // The data written by every run is intact.
  const starts = fs.readFileSync(path.join(project.dir, '.plugrun/data/crasher/data/starts.txt'), 'utf8');
  assert.is(starts, 'start\nstart\nstart\n');
  const count = await runCli(['call', 'crasher', 'count'], { cwd: project.dir });
  assert.is(count.code, 0, count.stderr);
  assert.is(JSON.parse(count.stdout), 4, 'three rows from the crashed runs, one from this start');
}));

test('crash in first start is not restarted', withProject({
  bomb: { files: { 'index.js': 'export async function start() { for (;;) {} }\n' } },
}, async (project) => {
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.bomb.limits = { startTimeoutMs: 500, restartBackoffMs: 50 };
  });
  const run = await runHost(project, 'bomb', (events) => events.some((event) => event.plugin === 'bomb' && event.op === 'start'));
  // Wait long enough for a restart that must not come.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.not.ok(run.events.some((event) => event.op === 'restart'));
  assert.is(run.finalReport?.state, 'failed');
}));

const prober = {
  files: {
    'index.js': `
      export async function start(ctx) {
        ctx.log.info('prober up');
        ctx.timers.setTimeout(async () => {
          for (let i = 0; i < 10; i += 1) {
            try { await ctx.fs.readFile('secret/' + i + '.txt'); } catch {}
            try { await ctx.net.fetch('https://exfil.invalid/' + i); } catch {}
          }
        }, 0);
      }
    `,
  },
};

test('denied flood quarantines until grants change', withProject({ prober }, async (project) => {
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.prober.limits = { deniedCallsPerMinute: 5 };
  });

  let granted = false;
  const run = await runHost(project, 'prober', (events) => {
    const quarantine = events.find((event) => event.plugin === 'prober' && event.op === 'quarantine');
    if (quarantine !== undefined && !granted) {
      granted = true;
      // Changing the grants releases the plugin, which starts again.
      editLockfile(project.dir, (lockfile) => {
        lockfile.plugins.prober.grants = ['fs:public/'];
      });
    }
    return events.filter((event) => event.plugin === 'prober' && event.message === 'prober up').length >= 2;
  });

  const ofProber = run.events.filter((event) => event.plugin === 'prober');
  const quarantine = ofProber.find((event) => event.op === 'quarantine')!;
  assert.is(quarantine.outcome, 'error');
  assert.is(quarantine.limit, 'deniedCallsPerMinute');
  assert.is(quarantine.deniedPerMinute, 6);
  assert.equal(quarantine.denied, ['fs.read:secret/', 'net:exfil.invalid']);
  assert.is((quarantine.error as { code: string }).code, 'PLUGRUN_LIMIT');
  const denials = ofProber.filter((event) => event.outcome === 'denied');
  const quarantineIndex = ofProber.indexOf(quarantine);
  assert.is(ofProber.slice(0, quarantineIndex).filter((event) => event.outcome === 'denied').length, 6);
  assert.ok(denials.length >= 6);
  assert.ok(run.states.includes('quarantined'));
  const release = ofProber.find((event) => event.op === 'restart');
  assert.is(release?.reason, 'its grants changed');
}));

test('quarantine holds while grants stay', withProject({ prober }, async (project) => {
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.prober.limits = { deniedCallsPerMinute: 5, restartBackoffMs: 50 };
  });
  const run = await runHost(project, 'prober', (events) => events.some((event) => event.plugin === 'prober' && event.op === 'quarantine'));
  // A restart would come after 50 ms; a quarantined plugin gets none.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.is(run.finalReport?.state, 'quarantined');
  assert.match(run.finalReport?.reason ?? '', 'until plugrun restarts or its grants change');
  assert.is(run.events.filter((event) => event.plugin === 'prober' && event.message === 'prober up').length, 1);
  assert.not.ok(run.events.some((event) => event.op === 'restart'));
}));

test('plugrun call does not restart', withProject({
  spinner: { files: { 'index.js': 'export const commands = { async spin() { for (;;) {} } };\n' } },
}, async (project) => {
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.spinner.limits = { callTimeoutMs: 500, restartBackoffMs: 1 };
  });
  const result = await runCli(['call', 'spinner', 'spin'], { cwd: project.dir });
  assert.is(result.code, 1);
  assert.match(result.stderr, 'PLUGRUN_LIMIT');
  assert.match(result.stderr, 'limit callTimeoutMs');
  const events = project.auditEvents();
  assert.is(events.find((event) => event.op === 'limit')?.limit, 'callTimeoutMs');
  assert.not.ok(events.some((event) => event.op === 'restart'));
}));

test.run();
