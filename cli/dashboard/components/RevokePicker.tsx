/**
 * The list `r` shows: the selected plugin's grants, one to pick with ↑/↓
 * and Enter before the y/n question.
 */

import { Box, Text } from 'ink';

import { cell } from '../format.js';

/** Props of the revoke picker. */
export interface RevokePickerProps {
  readonly plugin: string;
  readonly grants: readonly string[];
  readonly index: number;
  readonly height: number;
}

/** The revoke picker. */
export const RevokePicker = ({ plugin, grants, index, height }: RevokePickerProps) => (
  <Box flexDirection="column" height={height}>
    <Text bold wrap="truncate-end">{`Revoke which grant of ${cell(plugin)}?`}</Text>
    {grants.map((grant, position) => (
      <Text key={grant} wrap="truncate-end" inverse={position === index}>
        {`${position === index ? '›' : ' '} ${cell(grant)}`}
      </Text>
    ))}
    <Text dimColor>↑/↓ choose  Enter revoke  Esc cancel</Text>
  </Box>
);
