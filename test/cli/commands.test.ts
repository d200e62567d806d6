import fs from 'node:fs';
import path from 'node:path';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { editLockfile, lockProject, runCli, spawnCli, withProject, type TestProject } from '../helpers/project.js';

const greeter = {
  manifest: { capabilities: ['net:api.example.org', 'fs:exports/'] },
  files: {
    'index.js': `
      export const commands = {
        async greet(input, ctx) { ctx.log.info('greeting'); return { greeting: 'hello ' + input.name, n: 42 }; },
        async weather(_input, ctx) { return ctx.net.json('https://api.example.org/forecast?key=secret'); },
        async readNote(_input, ctx) { return ctx.fs.readFile('notes/a.txt'); },
        async exportNote(_input, ctx) { return ctx.fs.writeFile('exports/a.txt', 'hi'); },
        async nothing() {},
        async fail() { const error = new Error('boom'); error.code = 'PLUGRUN_FAILED'; throw error; },
      };
    `,
  },
};

const lockfileOf = (project: TestProject) => JSON.parse(project.read('plugin.lock.json'));

test('lock pins version and integrity', withProject({ greeter }, async (project) => {
  const result = await runCli(['lock'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, 'locked greeter@1.0.0');
  assert.match(result.stderr, 'plugrun grant greeter fs:exports/ net:api.example.org');
  const text = project.read('plugin.lock.json');
  assert.ok(text.endsWith('}\n'), 'final newline');
  const lockfile = JSON.parse(text);
  assert.is(lockfile.lockfileVersion, 1);
  assert.is(lockfile.plugins.greeter.version, '1.0.0');
  assert.match(lockfile.plugins.greeter.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
  assert.equal(lockfile.plugins.greeter.grants, []);
  assert.is(text, `${JSON.stringify(lockfile, null, 2)}\n`, 'two-space JSON');

  const again = await runCli(['lock'], { cwd: project.dir });
  assert.match(again.stderr, 'already locked');
  assert.is(project.read('plugin.lock.json'), text, 're-locking unchanged code changes nothing');
}));

test('lock --json reports changes', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  project.write('plugins/greeter/index.js', 'export const commands = {};\n');
  const result = await runCli(['lock', 'greeter', '--json'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.is(report.plugins[0].name, 'greeter');
  assert.is(report.plugins[0].change, 'updated');
  assert.ok(report.plugins[0].previous.integrity !== report.plugins[0].integrity);
}));

test('grant adds normalised grants sorted', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['grant', 'greeter', 'net:API.Example.org.', 'fs:./exports'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.equal(lockfileOf(project).plugins.greeter.grants, ['fs:exports/', 'net:api.example.org']);
  const events = project.auditEvents().filter((event) => event.op === 'grant');
  assert.is(events.length, 1);
  assert.is(events[0]!.cap, 'runtime');
}));

test('grant notes unrequested capabilities', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['grant', 'greeter', 'db:notes'], { cwd: project.dir });
  assert.is(result.code, 0);
  assert.match(result.stderr, 'does not request db:notes');
  const ls = JSON.parse((await runCli(['ls', '--json'], { cwd: project.dir })).stdout);
  assert.equal(ls.plugins[0].unrequested, ['db:notes']);
}));

test('revoke removes grants', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  await runCli(['grant', 'greeter', 'net:api.example.org', 'fs:exports/'], { cwd: project.dir });
  const result = await runCli(['revoke', 'greeter', 'net:api.example.org', 'db:x'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, 'revoked net:api.example.org from greeter');
  assert.match(result.stderr, 'nothing to revoke');
  assert.equal(lockfileOf(project).plugins.greeter.grants, ['fs:exports/']);
}));

const invalidCapabilities = ['net:example.com:0', 'net:example.com:65536', 'net:example.com:80-90', 'fs:', 'fs:../up/', 'fs:/abs/', 'net:*', 'shell:ls', 'db:bad-name'];
for (const capability of invalidCapabilities) {
  test(`grant rejects ${capability}`, withProject({ greeter }, async (project) => {
    await lockProject(project.dir);
    const before = project.read('plugin.lock.json');
    const result = await runCli(['grant', 'greeter', capability], { cwd: project.dir });
    assert.is(result.code, 2);
    assert.match(result.stderr, 'invalid capability');
    assert.match(result.stderr, 'Valid forms: fs:<dir>/, fs.read:<dir>/, net:<host>');
    assert.is(project.read('plugin.lock.json'), before, 'the lockfile is unchanged');
  }));
}

test('grant to unlocked plugin exits 3', withProject({ greeter }, async (project) => {
  const result = await runCli(['grant', 'greeter', 'net:api.example.org'], { cwd: project.dir });
  assert.is(result.code, 3);
  assert.match(result.stderr, 'plugrun lock greeter');
}));

test('concurrent grants both land', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const capabilities = ['net:a.example', 'net:b.example', 'net:c.example', 'net:d.example', 'db:one', 'db:two'];
  const runs = await Promise.all(capabilities.map((capability) => runCli(['grant', 'greeter', capability], { cwd: project.dir })));
  for (const run of runs) assert.is(run.code, 0, run.stderr);
  assert.equal(lockfileOf(project).plugins.greeter.grants, [...capabilities].sort());
}));

test('call prints the JSON result', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'greeter', 'greet', '{"name":"Ada"}'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout), { greeting: 'hello Ada', n: 42 });
  assert.ok(project.auditEvents().some((event) => event.cap === 'log' && event.message === 'greeting'));
}));

test('call reads input from stdin', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'greeter', 'greet', '-'], { cwd: project.dir, input: '{"name":"Grace"}' });
  assert.is(result.code, 0, result.stderr);
  assert.is(JSON.parse(result.stdout).greeting, 'hello Grace');
}));

test('command timeout fails the plugin', withProject({
  spinner: { files: { 'index.js': 'export const commands = { spin() { for (;;) {} } };\n' } },
}, async (project) => {
  await lockProject(project.dir);
  editLockfile(project.dir, (lockfile) => {
    lockfile.plugins.spinner.limits = { callTimeoutMs: 500 };
  });
  const started = Date.now();
  const result = await runCli(['call', 'spinner', 'spin'], { cwd: project.dir });
  assert.ok(Date.now() - started < 4000, 'no wait for a stop timeout after the plugin was stopped');
  assert.is(result.code, 1);
  assert.match(result.stderr, 'command spin timed out after 500 ms');
  const event = project.auditEvents().find((candidate) => candidate.cap === 'runtime' && candidate.op === 'command' && candidate.plugin === 'spinner');
  assert.is(event?.error.code, 'PLUGRUN_LIMIT');
}));

test('uncopyable arguments are audited', withProject({
  sloppy: {
    files: {
      'index.js': `
        export const commands = {
          async send(_input, ctx) {
            const outcomes = [];
            try { await ctx.config.set('fn', () => 1); } catch (error) { outcomes.push(error.code); }
            try { ctx.log.info(42); } catch (error) { outcomes.push(error.code); }
            try { setTimeout('not a function', 1); } catch (error) { outcomes.push(error.code, Object.isFrozen(Object.getPrototypeOf(error))); }
            return outcomes;
          },
        };
      `,
    },
  },
}, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'sloppy', 'send'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout), ['PLUGRUN_INVALID', 'PLUGRUN_INVALID', 'PLUGRUN_INVALID', true]);
  const rejected = project.auditEvents().filter((event) => event.plugin === 'sloppy' && event.outcome === 'error' && event.cap !== 'runtime');
  assert.equal(rejected.map((event) => `${event.cap}.${event.op}`), ['config.set', 'log.info']);
}));

test('call prints null for no result', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'greeter', 'nothing'], { cwd: project.dir });
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout.trim(), 'null');
}));

test('call of unknown plugin exits 2', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'nobody', 'greet'], { cwd: project.dir });
  assert.is(result.code, 2);
  assert.match(result.stderr, 'plugin "nobody" not found');
  assert.is(result.stdout, '');
}));

test('call of unknown command exits 2', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'greeter', 'dance'], { cwd: project.dir });
  assert.is(result.code, 2);
  assert.match(result.stderr, 'plugin "greeter" has no command "dance"');
  assert.match(result.stderr, 'greet');
}));

test('call with invalid JSON exits 2', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'greeter', 'greet', '{name:'], { cwd: project.dir });
  assert.is(result.code, 2);
  assert.match(result.stderr, 'invalid JSON input');
}));

test('denied call names the grant command', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'greeter', 'weather'], { cwd: project.dir });
  assert.is(result.code, 4);
  assert.match(result.stderr, 'PLUGRUN_DENIED');
  assert.match(result.stderr, 'plugin "greeter" has no grant for net:api.example.org; to allow it run: plugrun grant greeter net:api.example.org');
  const denied = project.auditEvents().find((event) => event.outcome === 'denied');
  assert.is(denied?.cap, 'net');
  assert.is(denied?.op, 'json');
  assert.is(denied?.needed, 'net:api.example.org');
  assert.not.match(denied?.target ?? '', 'secret', 'the query string is not logged');
}));

test('denied fs read names fs.read grant', withProject({ greeter }, async (project) => {
  await lockProject(project.dir);
  const result = await runCli(['call', 'greeter', 'readNote'], { cwd: project.dir });
  assert.is(result.code, 4);
  assert.match(result.stderr, 'to allow it run: plugrun grant greeter fs.read:notes/');
}));

test('ls shows lock state and pending', withProject({ greeter, other: { files: { 'index.js': 'export {};\n' } } }, async (project) => {
  await lockProject(project.dir, ['greeter']);
  await runCli(['grant', 'greeter', 'net:api.example.org'], { cwd: project.dir });
  const table = await runCli(['ls'], { cwd: project.dir });
  assert.is(table.code, 0, table.stderr);
  assert.match(table.stdout, /greeter\s+1\.0\.0\s+locked\s+net:api\.example\.org\s+fs:exports\//);
  assert.match(table.stdout, /other\s+1\.0\.0\s+unlocked/);
  const json = JSON.parse((await runCli(['ls', '--json'], { cwd: project.dir })).stdout);
  const entry = json.plugins.find((plugin: { name: string }) => plugin.name === 'greeter');
  assert.equal(entry.requested, ['fs:exports/', 'net:api.example.org']);
  assert.equal(entry.granted, ['net:api.example.org']);
  assert.equal(entry.pending, ['fs:exports/']);
  project.write('plugins/greeter/index.js', 'export {};\n');
  const changed = JSON.parse((await runCli(['ls', '--json'], { cwd: project.dir })).stdout);
  assert.is(changed.plugins.find((plugin: { name: string }) => plugin.name === 'greeter').lock, 'changed');
}));

test('global options move the project parts', withProject({ greeter }, async (project) => {
  fs.renameSync(path.join(project.dir, 'plugins'), path.join(project.dir, 'addons'));
  const options = ['--plugins-dir', 'addons', '--lockfile', 'locks/plugins.json', '--state-dir', 'state'];
  fs.mkdirSync(path.join(project.dir, 'locks'));
  const lock = await runCli(['lock', ...options], { cwd: project.dir });
  assert.is(lock.code, 0, lock.stderr);
  const call = await runCli(['call', 'greeter', 'greet', '{"name":"Lin"}', ...options], { cwd: project.dir });
  assert.is(call.code, 0, call.stderr);
  assert.ok(fs.existsSync(path.join(project.dir, 'locks/plugins.json')));
  assert.ok(fs.existsSync(path.join(project.dir, 'state/audit.ndjson')));
  assert.not.ok(fs.existsSync(path.join(project.dir, '.plugrun')));
  const fromElsewhere = await runCli(['ls', '--json', '--dir', project.dir, '--plugins-dir', path.join(project.dir, 'addons'), '--lockfile', path.join(project.dir, 'locks/plugins.json')], { cwd: '/' });
  assert.is(JSON.parse(fromElsewhere.stdout).plugins[0].lock, 'locked');
}));

test('every command has help with an example', async () => {
  for (const command of ['start', 'grant', 'revoke', 'lock', 'ls', 'call']) {
    const result = await runCli([command, '--help'], { cwd: '/' });
    assert.is(result.code, 0, `${command} --help`);
    assert.match(result.stdout, 'Examples:', `${command} --help shows examples`);
  }
});

test('unknown command suggests one', async () => {
  const result = await runCli(['strat'], { cwd: '/' });
  assert.is(result.code, 2);
  assert.match(result.stderr, 'Did you mean start');
});

test('unknown flag is a usage error', async () => {
  const result = await runCli(['ls', '--jsn'], { cwd: '/' });

test('an option of another command is named as such', async () => {
  const result = await runCli(['ls', '--frozen'], { cwd: '/' });
  assert.is(result.code, 2);
  assert.match(result.stderr, '--frozen is an option of another command');
  assert.not.match(result.stderr, 'instead of --frozen');
});
  assert.is(result.code, 2);
  assert.match(result.stderr, 'Unknown argument');
  assert.match(result.stderr, 'Did you mean --json');
});

test('start stops on SIGTERM', withProject({
  waiter: { files: { 'index.js': "export async function start(ctx) { ctx.log.info('up'); }\nexport async function stop(ctx) { ctx.log.info('down'); }\n" } },
}, async (project) => {
  await lockProject(project.dir);
  const child = spawnCli(['start', '--no-tui'], { cwd: project.dir });
  let stdout = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('"up"')) resolve();
    });
  });
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.is(code, 0);
  assert.match(stdout, '"message":"down"');
}));

test.run();
