/**
 * `plugrun start`: verify and run every locked plugin until Ctrl-C or
 * SIGTERM, or with `--once` until every `start()` has finished.
 */

import type { CommandModule } from 'yargs';

import type { DashboardHandle } from '../dashboard/open-dashboard.js';
import { formatEventLine } from '../event-line.js';
import { ciVariable, ExitCode, printData, printMessage, useColor, whenStdoutClosed } from '../output.js';
import { openAuditLog, projectFrom, runHandler, type GlobalArgs } from './common.js';

interface StartArgs extends GlobalArgs {
  readonly once: boolean;
  readonly frozen: boolean;
  readonly tui: boolean;
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
const waitForSignal = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

const start = async (argv: StartArgs): Promise<number> => {
  const project = projectFrom(argv);

  // --frozen: refuse before any worker starts, so CI fails on a lockfile that needs a person's decision.
  if (argv.frozen) {
    const { findFrozenProblems } = await import('../../runtime/frozen.js');
    const problems = await findFrozenProblems(project);
    for (const problem of problems) printMessage(problem);
    if (problems.length > 0) {
      printMessage(`not starting (--frozen): ${problems.length} problem${problems.length === 1 ? '' : 's'} above`);
      return ExitCode.lock;
    }
  }

  // Workers start locking down while the host's own modules load.
  const { prewarmPool } = await import('../../runtime/worker-pool.js');
  const pool = prewarmPool(project.pluginsDir);

  // Loaded here, not at the top, so that `plugrun --help` stays fast.
  const { Host } = await import('../../runtime/host.js');
  const audit = await openAuditLog(project).catch(async (error: unknown) => {
    await pool.drain();
    throw error;
  });

  // On a terminal, the dashboard; with --once or under CI, one readable line
  // per event. Otherwise, or with --no-tui, NDJSON on stdout for pipes.
  const stdoutIsTerminal = process.stdout.isTTY === true;
  const ci = ciVariable();
  const withDashboard = stdoutIsTerminal && argv.tui && !argv.once && ci === undefined;
  if (stdoutIsTerminal && argv.tui && !argv.once && ci !== undefined) {
    printMessage(`no dashboard: ${ci} is set, and the dashboard cannot redraw under CI; one line per event instead, Ctrl-C stops (unset ${ci} to see the dashboard)`);
  }
  if (!stdoutIsTerminal || !argv.tui) {
    audit.subscribe((_event, line) => printData(line));
  } else if (!withDashboard) {
    const color = useColor(process.stdout);
    audit.subscribe((event) => printData(formatEventLine(event, color)));
  }

  // While the dashboard owns the terminal, the host's reports go to its footer.
  let report = printMessage;
  const host = new Host({ project, audit, report: (message) => report(message), pool });
  let dashboard: DashboardHandle | undefined;
  if (withDashboard) {
    // Ink and React load only here, so --help, --no-tui and pipes never load them.
    const { openDashboard } = await import('../dashboard/open-dashboard.js');
    dashboard = openDashboard({ host, audit, project });
    report = (message) => dashboard?.notice(message);
  }
  const closeDashboard = async () => {
    if (dashboard === undefined) return;
    await dashboard.close();
    dashboard = undefined;
    report = printMessage;
  };

  // A closed stdout (`| head`) stops the plugins as a signal does, without a message.
  const stopping = Promise.race([waitForSignal(), whenStdoutClosed().then(() => 'EPIPE' as const)]);
  try {
    await host.load();
    await host.startAll();

    // Events wait for the end of the event-loop turn; flushed now, they come before the message below.
    audit.flush();
    const running = host.plugins.filter((plugin) => plugin.state === 'running');
    if (argv.once) {
      printMessage(`started ${running.length} of ${host.plugins.length} plugins; stopping (--once)`);
    } else if (dashboard !== undefined) {
      // The dashboard stays up even with nothing running, so the reasons stay readable.
      if (running.length === 0) dashboard.notice(`no plugin is running (${host.plugins.length} found); press q to quit`);
      const unwatch = host.watchGrants();
      const reason = await Promise.race([stopping, dashboard.quit.then(() => 'quit requested' as const)]);
      unwatch();
      await closeDashboard();
      if (reason !== 'EPIPE') printMessage(`${reason}; stopping plugins`);
    } else if (running.length === 0) {
      printMessage(`no plugin is running (${host.plugins.length} found); nothing to do`);
    } else {
      printMessage(`running ${running.map((plugin) => plugin.name).join(', ')}; press Ctrl-C to stop`);
      // plugrun grant and revoke from another terminal apply from the next call.
      const unwatch = host.watchGrants();
      const signal = await stopping;
      unwatch();
      if (signal !== 'EPIPE') printMessage(`${signal} received; stopping plugins`);
    }
  } finally {
    await closeDashboard();
    await host.stopAll();
    audit.close();
  }
  return host.exitCode();
};

/** The `start` command. */
export const startCommand: CommandModule<GlobalArgs, StartArgs> = {
  command: 'start',
  describe: 'Verify and run every locked plugin',
  builder: (yargs) =>
    yargs
      .option('once', { type: 'boolean', default: false, describe: 'Stop right after every start() has finished' })
      .option('frozen', {
        type: 'boolean',
        default: false,
        describe: 'Exit with status 3 before starting anything if a plugin is unlocked, changed or has ungranted requests (for CI)',
      })
      .option('tui', {
        type: 'boolean',
        default: true,
        describe: 'Show the live dashboard on a terminal; --no-tui prints NDJSON audit events on stdout',
      })
      .example('$0 start', 'Run the plugins until Ctrl-C, with the dashboard on a terminal')
      .example('$0 start --once --no-tui | jq .', 'Start and stop every plugin, audit events as NDJSON')
      .example('$0 start --once --frozen', 'In CI: fail unless every plugin is locked, unchanged and granted'),
  handler: runHandler(start),
};
