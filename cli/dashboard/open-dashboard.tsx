/**
 * Mounts the dashboard on the terminal for `plugrun start`. `start` imports
 * this module only when stdout is a terminal and `--no-tui` is not given,
 * so Ink and React are never loaded otherwise.
 *
 * The dashboard draws on the terminal's alternate screen, so quitting gives
 * back the screen as it was. Ink's own Ctrl-C handling is off: Ctrl-C and q
 * both resolve `quit`, and `plugrun start` then stops the plugins, running
 * their stop hooks.
 */

import { render } from 'ink';

import type { AuditLog } from '../../runtime/audit.js';
import type { Host } from '../../runtime/host.js';
import type { ProjectPaths } from '../../runtime/project.js';
import { Dashboard } from './components/Dashboard.js';
import { sourceFromHost } from './host-source.js';
import type { NoticeLevel } from './notice-board.js';

const ENTER_ALTERNATE_SCREEN = '\u001b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\u001b[?1049l';

/** Options of a mounted dashboard. */
export interface OpenDashboardOptions {
  readonly host: Host;
  readonly audit: AuditLog;
  readonly project: ProjectPaths;
  /** Default: process.stdout. */
  readonly stdout?: NodeJS.WriteStream;
  /** Default: process.stdin. */
  readonly stdin?: NodeJS.ReadStream;
}

/** A mounted dashboard. */
export interface DashboardHandle {
  /** Resolves when q or Ctrl-C is pressed. */
  readonly quit: Promise<void>;
  /** Shows a message in the footer, in place of a line on stderr. */
  notice(message: string, level?: NoticeLevel): void;
  /** Unmounts the dashboard and gives the terminal back; safe to call twice. */
  close(): Promise<void>;
}

/** Mounts the dashboard on the terminal. */
export const openDashboard = (options: OpenDashboardOptions): DashboardHandle => {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const { source, detach } = sourceFromHost(options.host, options.audit, options.project);

  let onQuit: () => void = () => undefined;
  const quit = new Promise<void>((resolve) => (onQuit = resolve));

  // A second signal exits at once (see start.ts); the screen is given back then too.
  const leaveOnExit = () => stdout.write(LEAVE_ALTERNATE_SCREEN);
  process.once('exit', leaveOnExit);
  stdout.write(ENTER_ALTERNATE_SCREEN);
  const instance = render(<Dashboard source={source} onQuit={onQuit} />, {
    stdout,
    stdin,
    exitOnCtrlC: false,
    maxFps: 15,
  });

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      detach();
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
      process.removeListener('exit', leaveOnExit);
      stdout.write(LEAVE_ALTERNATE_SCREEN);
    })();
    return closed;
  };

  return { quit, notice: (message, level = 'error') => source.notices.post(message, level), close };
};
