/**
 * One plugin in the plugins pane, on two lines. The first: phase symbol,
 * name, version, phase, CPU, heap and external memory, calls per capability
 * kind. The second: grants in force and pending requests, or the reason a
 * plugin is not running.
 */

import { Box, Text } from 'ink';

import { compareText } from '../../../capabilities/compare.js';
import type { PluginStats } from '../../../runtime/plugin-stats.js';
import { cell, fit, formatBytes, formatCount, formatPercent } from '../format.js';
import { PHASE_STYLES } from '../styles.js';

/** Props of one plugin's rows. */
export interface PluginRowProps {
  readonly plugin: PluginStats;
  readonly selected: boolean;
  /** True when the audit pane is filtered to this plugin. */
  readonly filtered: boolean;
}

const usageText = (plugin: PluginStats): string => {
  const { usage } = plugin;
  if (usage === undefined) return `cpu ${'-'.padStart(4)} heap ${'-'.padStart(5)} ext ${'-'.padStart(5)}`;
  return `cpu ${formatPercent(usage.cpu).padStart(4)} heap ${formatBytes(usage.heapUsed).padStart(5)} ext ${formatBytes(usage.external).padStart(5)}`;
};

/** Calls per capability kind, then the denied ones in yellow. */
const Calls = ({ plugin }: { plugin: PluginStats }) => {
  const entries = Object.entries(plugin.calls).sort(([a], [b]) => compareText(a, b));
  if (entries.length === 0) return <Text dimColor> no calls</Text>;
  return (
    <>
      {entries.map(([cap, count]) => (
        <Text key={cap}>
          {` ${cap} ${formatCount(count.allowed + count.denied + count.error)}`}
          {count.denied > 0 ? <Text color="yellow">{` ✗${formatCount(count.denied)}`}</Text> : null}
        </Text>
      ))}
    </>
  );
};

/** Two lines for one plugin. */
export const PluginRow = ({ plugin, selected, filtered }: PluginRowProps) => {
  const style = PHASE_STYLES[plugin.phase];
  const marker = selected ? '›' : ' ';
  const name = fit(cell(plugin.name), 12);
  const version = fit(cell(plugin.version ?? '?'), 8);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" inverse={selected}>
        {`${marker}${filtered ? '▸' : ' '}`}
        <Text color={style.color}>{style.symbol}</Text>
        {` ${name} ${version} `}
        <Text color={style.color}>{fit(plugin.phase, 8)}</Text>
        {` ${usageText(plugin)}`}
        {plugin.inFlight > 0 ? <Text dimColor>{` ${plugin.inFlight} in flight`}</Text> : null}
        <Calls plugin={plugin} />
      </Text>
      {plugin.phase === 'refused' || plugin.phase === 'crashed' ? (
        <Text wrap="truncate-end" color={style.color}>{`    ${cell(plugin.reason ?? plugin.state)}`}</Text>
      ) : (
        <Text wrap="truncate-end">
          <Text dimColor>{'    grants '}</Text>
          {plugin.granted.length === 0 ? <Text dimColor>none</Text> : cell(plugin.granted.join(' '))}
          {plugin.pending.length > 0 ? (
            <>
              <Text dimColor>{'  pending '}</Text>
              <Text color="yellow" bold>
                {cell(plugin.pending.join(' '))}
              </Text>
            </>
          ) : null}
        </Text>
      )}
    </Box>
  );
};
