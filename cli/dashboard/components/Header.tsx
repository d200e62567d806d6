/**
 * The header line: project folder, uptime, plugins running out of all seen,
 * events per second, denied calls, and the pause state.
 */

import { Box, Text } from 'ink';

import { cell, formatCount, formatRate, formatUptime } from '../format.js';

/** Props of the header. */
export interface HeaderProps {
  readonly projectDir: string;
  readonly uptimeMs: number;
  readonly running: number;
  readonly total: number;
  readonly eventsPerSecond: number;
  readonly denied: number;
  readonly paused: boolean;
  /** Events received since the pause began. */
  readonly arrivedWhilePaused: number;
}

/** The header line. */
export const Header = (props: HeaderProps) => (
  <Box>
    <Text wrap="truncate-end">
      <Text bold>plugrun</Text>
      {`  ${cell(props.projectDir)}  up ${formatUptime(props.uptimeMs)}  `}
      <Text color={props.running > 0 ? 'green' : 'yellow'}>{`${props.running}/${props.total} running`}</Text>
      {`  ${formatRate(props.eventsPerSecond)} ev/s  `}
      <Text color={props.denied > 0 ? 'yellow' : undefined}>{`${formatCount(props.denied)} denied`}</Text>
      {props.paused ? <Text inverse>{`  PAUSED, ${formatCount(props.arrivedWhilePaused)} new  `}</Text> : null}
    </Text>
  </Box>
);
