import path from 'node:path';

import { render } from 'ink-testing-library';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Dashboard } from '../../cli/dashboard/components/Dashboard.js';
import { sourceFromHost } from '../../cli/dashboard/host-source.js';
import { AuditLog } from '../../runtime/audit.js';
import { Host } from '../../runtime/host.js';
import { readLockfile } from '../../runtime/lockfile.js';
import { resolveProject } from '../../runtime/project.js';
import { KEY, waitForFrame } from '../helpers/dashboard.js';
import { lockProject, withProject } from '../helpers/project.js';

const writer = {
  writer: {
    manifest: { capabilities: ['fs:out/'] },
    files: {
      'index.js': `
        export async function start(ctx) {
          setInterval(async () => {
            try { await ctx.fs.writeFile('out/x.txt', 'x'); } catch {}
          }, 50);
        }
      `,
    },
  },
};

const grantsOf = async (lockfile: string) => {
  const state = await readLockfile(lockfile);
  return state.state === 'ok' ? state.lockfile.plugins.writer?.grants : undefined;
};

test('g and r change lockfile and calls', withProject(writer, async (project) => {
  await lockProject(project.dir);
  const paths = resolveProject({ dir: project.dir });
  const audit = new AuditLog(paths.auditLog);
  const host = new Host({ project: paths, audit, report: () => undefined });
  const { source, detach } = sourceFromHost(host, audit, paths);
  const instance = render(<Dashboard source={source} onQuit={() => undefined} size={{ columns: 100, rows: 30 }} statsIntervalMs={200} />);
  const frame = () => instance.lastFrame();
  try {
    await host.load();
    await host.startAll();

    // Stats from the host: phase, pending request, worker memory, calls.
    const first = await waitForFrame(frame, (text) => /› +● writer .* running .* heap +[0-9.]+[KMG] /.test(text) && /fs \d+ ✗\d+/.test(text));
    assert.match(first, /grants none +pending fs:out\//);

    instance.stdin.write('g');
    const question = await waitForFrame(frame, (text) => text.includes('Grant to writer?'));
    assert.match(question, /^ {2}fs:out\/$/m);
    instance.stdin.write('y');
    await waitForFrame(frame, (text) => text.includes('granted fs:out/ to writer; in force from the next call'));
    assert.equal(await grantsOf(paths.lockfile), ['fs:out/']);
    await waitForFrame(frame, (text) => /grants fs:out\/\s*$/m.test(text) && /fs\.writeFile +allowed/.test(text));

    instance.stdin.write('r');
    await waitForFrame(frame, (text) => /› fs:out\//.test(text));
    instance.stdin.write(KEY.enter);
    await waitForFrame(frame, (text) => text.includes('Revoke from writer?'));
    instance.stdin.write('y');
    await waitForFrame(frame, (text) => text.includes('revoked fs:out/ from writer'));
    assert.equal(await grantsOf(paths.lockfile), []);

    // The audit log has the change, the host's application of it, and a denial after it.
    const events = project.auditEvents();
    const granted = events.findIndex((event) => event.op === 'grant' && event.cap === 'runtime');
    const applied = events.findIndex((event) => event.op === 'grants' && event.granted?.includes('fs:out/'));
    assert.ok(granted !== -1, 'the grant event was written');
    assert.ok(applied > granted, 'the host applied the grant after it');
    const revokedAt = events.findIndex((event) => event.op === 'grants' && event.revoked?.includes('fs:out/'));
    assert.ok(revokedAt > applied, 'revoke applied');
    // Earlier denied rows may still be on screen, so the newest write row is the one to read.
    const newestWrite = (text: string) => text.split('\n').filter((line) => line.includes('fs.writeFile')).at(-1) ?? '';
    await waitForFrame(frame, (text) => /denied +needs fs:out\//.test(newestWrite(text)));
    // A write checked before the revoke may finish, and be written, after it.
    const after = project.auditEvents().slice(revokedAt + 1).filter((event) => event.op === 'writeFile');
    const firstDenied = after.findIndex((event) => event.outcome === 'denied');
    assert.ok(firstDenied !== -1);
    assert.ok(firstDenied <= 2, `${firstDenied} writes allowed after the revoke`);
    assert.ok(after.slice(firstDenied).every((event) => event.outcome === 'denied'), 'every later write is denied');
    assert.ok(path.isAbsolute(source.projectDir));
  } finally {
    instance.unmount();
    detach();
    await host.stopAll();
    audit.close();
  }
}));

test.run();
