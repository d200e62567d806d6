/**
 * The plugins pane: a title line, then two lines per plugin. When the pane
 * is too short for every plugin it scrolls to keep the selected one shown.
 */

import { Box, Text } from 'ink';

import type { PluginStats } from '../../../runtime/plugin-stats.js';
import { PluginRow } from './PluginRow.js';

/** Props of the plugins pane. */
export interface PluginsPaneProps {
  readonly plugins: readonly PluginStats[];
  readonly selected: number;
  /** Plugin the audit pane is filtered to. */
  readonly filterPlugin?: string;
  /** Lines the pane may use, title included. */
  readonly height: number;
}

/** Returns the index of the first plugin shown, so that `selected` is in view. */
export const firstShown = (selected: number, shown: number, count: number): number =>
  Math.max(0, Math.min(selected - shown + 1, count - shown));

/** Renders the plugins pane. */
export const PluginsPane = ({ plugins, selected, filterPlugin, height }: PluginsPaneProps) => {
  const shown = Math.max(1, Math.floor((height - 1) / 2));
  const first = firstShown(selected, shown, plugins.length);
  const visible = plugins.slice(first, first + shown);
  const hidden = plugins.length - visible.length;
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate-end">
        {`Plugins (${plugins.length})`}
        {hidden > 0 ? <Text dimColor>{`  ${first} above, ${plugins.length - first - visible.length} below`}</Text> : null}
      </Text>
      {plugins.length === 0 ? <Text dimColor>  no plugins found yet</Text> : null}
      {visible.map((plugin, offset) => (
        <PluginRow key={plugin.name} plugin={plugin} selected={first + offset === selected} filtered={plugin.name === filterPlugin} />
      ))}
    </Box>
  );
};
