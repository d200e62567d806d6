/**
 * Helpers for dashboard tests: audit events and plugin figures with
 * defaults, key sequences as a terminal sends them, a fake source that
 * records the grant changes it is asked for, and a wait for a frame.
 */

import type { AuditEvent } from '../../runtime/audit.js';
import type { PluginStats } from '../../runtime/plugin-stats.js';
import { AuditFeed } from '../../cli/dashboard/audit-feed.js';
import { NoticeBoard } from '../../cli/dashboard/notice-board.js';
import type { DashboardSource } from '../../cli/dashboard/source.js';

/** Bytes a terminal sends for each key. */
export const KEY = {
  up: '\u001b[A',
  down: '\u001b[B',
  enter: '\r',
  escape: '\u001b',
  ctrlC: '\u0003',
} as const;

let seq = 0;

/** Makes an audit event, with defaults for the fields not given. */
export const makeEvent = (fields: Partial<AuditEvent> = {}): AuditEvent => {
  seq += 1;
  return {
    v: 1,
    seq,
    time: '2026-12-04T19:30:00.123Z',
    plugin: 'notes',
    cap: 'db',
    op: 'insert',
    target: 'notes',
    outcome: 'allowed',
    ms: 0.4,
    hash: `sha256-${seq}`,
    ...fields,
  } as AuditEvent;
};

/** A plugin's figures with defaults for the fields not given. */
export const makeStats = (fields: Partial<PluginStats> & { name: string }): PluginStats => ({
  version: '1.0.0',
  phase: 'running',
  state: 'running',
  granted: [],
  requested: [],
  pending: [],
  calls: {},
  inFlight: 0,
  ...fields,
});

/** A recorded grant change. */
export interface RecordedChange {
  readonly op: 'grant' | 'revoke';
  readonly plugin: string;
  readonly capabilities: readonly string[];
}

/** Makes a source over fixed figures that records the grant changes requested of it. */
export const makeFakeSource = (plugins: PluginStats[]): DashboardSource & { changes: RecordedChange[]; plugins: PluginStats[] } => {
  const changes: RecordedChange[] = [];
  return {
    projectDir: '/tmp/project',
    startedAt: Date.now(),
    feed: new AuditFeed({ capacity: 50, pluginCapacity: 20 }),
    notices: new NoticeBoard(),
    changes,
    plugins,
    stats: async () => plugins,
    grant: async (plugin, capabilities) => {
      changes.push({ op: 'grant', plugin, capabilities });
      return `granted ${capabilities.join(' ')} to ${plugin}`;
    },
    revoke: async (plugin, capability) => {
      changes.push({ op: 'revoke', plugin, capabilities: [capability] });
      return `revoked ${capability} from ${plugin}`;
    },
  };
};

/** Removes the SGR colour and style sequences Ink writes, leaving any other escape in place. */
export const withoutStyles = (frame: string): string => frame.replace(/\u001b\[[0-9;]*m/g, '');

/** Polls `frame()` until `predicate` holds for it without styles, or throws with the last frame after `timeoutMs`. */
export const waitForFrame = async (frame: () => string | undefined, predicate: (text: string) => boolean, timeoutMs = 5000): Promise<string> => {
  const started = Date.now();
  for (;;) {
    const text = withoutStyles(frame() ?? '');
    if (predicate(text)) return text;
    if (Date.now() - started > timeoutMs) throw new Error(`no frame matched within ${timeoutMs} ms; last frame:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
};

/** Characters that must never reach the terminal raw from plugin text. */
export const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
