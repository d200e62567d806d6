/**
 * The dashboard's root: header, plugins pane, audit pane (or the help, a
 * confirmation or the revoke picker in its place) and footer, with the keys.
 */

import { Box, useInput, type Key } from 'ink';
import { useCallback, useRef, useState } from 'react';

import { useFrameClock } from '../hooks/use-frame-clock.js';
import { usePluginStats } from '../hooks/use-plugin-stats.js';
import { useTerminalSize, type TerminalSize } from '../hooks/use-terminal-size.js';
import { initialScreenState, reduceKey, type KeyAction, type ScreenState } from '../keys.js';
import { computeLayout } from '../layout.js';
import type { DashboardSource } from '../source.js';
import { AuditPane, auditRowCount } from './AuditPane.js';
import { Confirm } from './Confirm.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { HelpPanel } from './HelpPanel.js';
import { PluginsPane } from './PluginsPane.js';
import { RevokePicker } from './RevokePicker.js';

/** Props of the dashboard. */
export interface DashboardProps {
  readonly source: DashboardSource;
  /** Called once when q or Ctrl-C is pressed. */
  readonly onQuit: () => void;
  /** A fixed size instead of the terminal's, for tests. */
  readonly size?: TerminalSize;
  /** Milliseconds between frames at most; default 66 (about 15 a second). */
  readonly frameIntervalMs?: number;
  /** Milliseconds between samples of the plugins' figures; default 1000. */
  readonly statsIntervalMs?: number;
}

/** The dashboard. */
export const Dashboard = ({ source, onQuit, size, frameIntervalMs = 66, statsIntervalMs = 1000 }: DashboardProps) => {
  const { columns, rows } = useTerminalSize(size);
  const frame = useFrameClock(source.feed, source.notices, frameIntervalMs);
  const { plugins, refresh } = usePluginStats(source, statsIntervalMs);
  const [screen, setScreen] = useState<ScreenState>(initialScreenState);

  const run = useCallback(
    (action: KeyAction) => {
      const report = (promise: Promise<string>) =>
        promise.then(
          (text) => {
            source.notices.post(text);
            refresh();
          },
          (error: unknown) => source.notices.post(error instanceof Error ? error.message : String(error), 'error'),
        );
      switch (action.kind) {
        case 'quit':
          onQuit();
          return;
        case 'toggle-pause':
          if (source.feed.paused) source.feed.resume();
          else source.feed.pause();
          return;
        case 'grant':
          void report(source.grant(action.plugin, action.capabilities));
          return;
        case 'revoke':
          void report(source.revoke(action.plugin, action.capability));
          return;
        case 'notice':
          source.notices.post(action.text);
          return;
      }
    },
    [source, onQuit, refresh],
  );

  // Ink draws a frame before React runs the effect that hands useInput the
  // new handler, so a key pressed right after a frame could meet the state
  // of the frame before. The handler reads the latest state from this ref.
  const latest = useRef({ screen, plugins });
  latest.current = { screen, plugins };
  useInput((input: string, key: Key) => {
    const current = latest.current;
    const next = reduceKey(current.screen, input, key, current.plugins);
    if (next.state !== current.screen) {
      latest.current = { ...current, screen: next.state };
      setScreen(next.state);
    }
    if (next.action !== undefined) run(next.action);
  });

  const layout = computeLayout(rows, plugins.length);
  const selected = Math.min(screen.selected, Math.max(0, plugins.length - 1));
  const filter = { ...(screen.filterPlugin === undefined ? {} : { plugin: screen.filterPlugin }), deniedOnly: screen.deniedOnly };
  const { feed } = source;
  const { mode } = screen;

  let lower;
  if (mode.kind === 'help') lower = <HelpPanel height={layout.audit} />;
  else if (mode.kind === 'confirm-grant') {
    lower = <Confirm question={`Grant to ${mode.plugin}?`} capabilities={mode.capabilities} verb="grant" height={layout.audit} />;
  } else if (mode.kind === 'confirm-revoke') {
    lower = <Confirm question={`Revoke from ${mode.plugin}?`} capabilities={[mode.capability]} verb="revoke" height={layout.audit} />;
  } else if (mode.kind === 'pick-revoke') {
    lower = <RevokePicker plugin={mode.plugin} grants={mode.grants} index={mode.index} height={layout.audit} />;
  } else {
    lower = (
      <AuditPane
        view={feed.view(filter, auditRowCount(layout.audit))}
        filter={filter}
        paused={feed.paused}
        arrivedWhilePaused={feed.arrivedWhilePaused}
        height={layout.audit}
      />
    );
  }

  return (
    <Box flexDirection="column" width={columns}>
      <Header
        projectDir={source.projectDir}
        uptimeMs={frame.time - source.startedAt}
        running={plugins.filter((plugin) => plugin.phase === 'running').length}
        total={plugins.length}
        eventsPerSecond={frame.eventsPerSecond}
        denied={feed.denied}
        paused={feed.paused}
        arrivedWhilePaused={feed.arrivedWhilePaused}
      />
      <PluginsPane plugins={plugins} selected={selected} {...(screen.filterPlugin === undefined ? {} : { filterPlugin: screen.filterPlugin })} height={layout.plugins} />
      {lower}
      <Footer {...(source.notices.latest() === undefined ? {} : { notice: source.notices.latest()! })} />
    </Box>
  );
};
