/**
 * The help panel shown by `?`, in place of the audit pane.
 */

import { Box, Text } from 'ink';

/** Each key and what it does; each line fits 80 columns after the 12-column key. */
export const HELP_ENTRIES: ReadonlyArray<readonly [string, string]> = [
  ['↑ / ↓', 'select a plugin'],
  ['Enter', "show only the selected plugin's events; again to show all"],
  ['d', 'show only denied calls; again to show all'],
  ['p', 'pause the audit pane; new events are counted and shown on resume'],
  ['g', "grant the selected plugin's pending requests, after y/n"],
  ['r', 'revoke a grant of the selected plugin: pick one, then y/n'],
  ['Esc', 'clear the filters, or cancel a question'],
  ['?', 'show or hide this help'],
  ['q / Ctrl-C', 'stop the plugins (their stop hooks run) and quit'],
];

/** Props of the help panel. */
export interface HelpPanelProps {
  readonly height: number;
}

/** The help panel. */
export const HelpPanel = ({ height }: HelpPanelProps) => (
  <Box flexDirection="column" height={height}>
    <Text bold>Keys</Text>
    {HELP_ENTRIES.map(([key, text]) => (
      <Text key={key} wrap="truncate-end">
        <Text color="cyan">{key.padEnd(12)}</Text>
        {text}
      </Text>
    ))}
    <Text dimColor>Grants changed here or by plugrun grant/revoke apply from the next call.</Text>
    <Text dimColor>Press any key to close.</Text>
  </Box>
);
