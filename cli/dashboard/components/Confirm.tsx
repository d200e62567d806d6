/**
 * A y/n question about a grant change, listing the exact capability strings
 * it would write to the lockfile.
 */

import { Box, Text } from 'ink';

import { cell } from '../format.js';

/** Props of a confirmation. */
export interface ConfirmProps {
  /** The question, such as `Grant to weather?`. */
  readonly question: string;
  readonly capabilities: readonly string[];
  /** Verb shown next to `y`, such as `grant`. */
  readonly verb: string;
  readonly height: number;
}

/** A confirmation panel. */
export const Confirm = ({ question, capabilities, verb, height }: ConfirmProps) => (
  <Box flexDirection="column" height={height}>
    <Text bold color="yellow" wrap="truncate-end">
      {cell(question)}
    </Text>
    {capabilities.map((capability) => (
      <Text key={capability} wrap="truncate-end">{`  ${cell(capability)}`}</Text>
    ))}
    <Text>
      <Text color="green">y</Text>
      {` ${verb}   `}
      <Text color="red">n</Text>
      {' cancel'}
    </Text>
  </Box>
);
