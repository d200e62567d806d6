/**
 * The data and actions of the dashboard, as one interface, so that its
 * components never hold the host itself. `plugrun start` builds the real
 * source from its host; tests build one over a real lockfile and feed.
 */

import type { PluginStats } from '../../runtime/plugin-stats.js';
import type { AuditFeed } from './audit-feed.js';
import type { NoticeBoard } from './notice-board.js';

/** The data and actions behind a dashboard. */
export interface DashboardSource {
  /** Project folder shown in the header. */
  readonly projectDir: string;
  /** Milliseconds since the epoch when the host started. */
  readonly startedAt: number;
  readonly feed: AuditFeed;
  readonly notices: NoticeBoard;
  /** Returns every plugin's current figures. */
  stats(): Promise<readonly PluginStats[]>;
  /** Adds grants to a plugin in the lockfile; returns a line that describes the change. */
  grant(plugin: string, capabilities: readonly string[]): Promise<string>;
  /** Removes one grant from a plugin in the lockfile; returns a line that describes the change. */
  revoke(plugin: string, capability: string): Promise<string>;
}
