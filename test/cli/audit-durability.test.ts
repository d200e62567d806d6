import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { editLockfile, lockProject, runCli, spawnCli, withProject } from '../helpers/project.js';

// The plugin makes one call, then sends a request to the test server once
// its result arrived. The server kills the whole plugrun process with SIGKILL at that
// moment: a worker is a thread of that process, so no signal reaches it alone.
const plugin = {
  durable: {
    files: {
      'index.js': `
        export async function start(ctx) {
          const port = await ctx.config.get('port');
          await ctx.fs.writeFile('out/result.txt', 'written');
          await ctx.net.fetch('http://127.0.0.1:' + port + '/result-received');
        }
      `,
    },
  },
};

test('kill -9 after a call keeps its event', withProject(plugin, async (project) => {
  let onRequest: () => void = () => undefined;
  const server = http.createServer(() => onRequest());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await lockProject(project.dir);
    editLockfile(project.dir, (lockfile) => {
      lockfile.plugins.durable.grants = ['fs:out/', `net:127.0.0.1:${port}`];
    });
    project.write('.plugrun/config/durable.json', JSON.stringify({ port }));

    const host = spawnCli(['start', '--no-tui'], { cwd: project.dir });
    host.stdout!.resume();
    host.stderr!.resume();
    const killed = new Promise<NodeJS.Signals | null>((resolve) => host.on('close', (_code, signal) => resolve(signal)));
    onRequest = () => host.kill('SIGKILL');
    assert.is(await killed, 'SIGKILL');

    const writes = project.auditEvents().filter((event) => event.cap === 'fs' && event.op === 'writeFile');
    assert.is(writes.length, 1, 'the call made before the kill is in the log');
    assert.is(writes[0]!.outcome, 'allowed');
    assert.is(writes[0]!.target, 'out/result.txt');
    assert.not.ok(project.auditEvents().some((event) => event.cap === 'net'), 'the call cut short by the kill has no event');
    const verify = await runCli(['audit', 'verify'], { cwd: project.dir });
    assert.is(verify.code, 0, verify.stderr);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}));

test.run();
