/**
 * The dashboard's keys as a pure function from the screen's state and one
 * key press to the next state and, at most, one action to run. Keeping it
 * pure lets the tests walk every key without a terminal.
 */

import type { Key } from 'ink';

/** The view in the lower half of the screen. */
export type Mode =
  | { readonly kind: 'normal' }
  | { readonly kind: 'help' }
  /** Waiting for y or n before granting `capabilities` to `plugin`. */
  | { readonly kind: 'confirm-grant'; readonly plugin: string; readonly capabilities: readonly string[] }
  /** Choosing which of `grants` to revoke. */
  | { readonly kind: 'pick-revoke'; readonly plugin: string; readonly grants: readonly string[]; readonly index: number }
  /** Waiting for y or n before revoking `capability` from `plugin`. */
  | { readonly kind: 'confirm-revoke'; readonly plugin: string; readonly capability: string };

/** State of the screen that keys change. */
export interface ScreenState {
  /** Index of the selected plugin. */
  readonly selected: number;
  /** Plugin the audit pane is filtered to. */
  readonly filterPlugin?: string;
  readonly deniedOnly: boolean;
  readonly mode: Mode;
}

/** An action a key requests, run by the dashboard after the state changes. */
export type KeyAction =
  | { readonly kind: 'quit' }
  | { readonly kind: 'toggle-pause' }
  | { readonly kind: 'grant'; readonly plugin: string; readonly capabilities: readonly string[] }
  | { readonly kind: 'revoke'; readonly plugin: string; readonly capability: string }
  /** A one-line message, such as "nothing to grant". */
  | { readonly kind: 'notice'; readonly text: string };

/** The part of a plugin's figures that keys use. */
export interface PluginChoice {
  readonly name: string;
  readonly granted: readonly string[];
  readonly pending: readonly string[];
}

/** The state before any key. */
export const initialScreenState: ScreenState = { selected: 0, deniedOnly: false, mode: { kind: 'normal' } };

const clamp = (index: number, count: number) => Math.max(0, Math.min(index, count - 1));

/** Computes the state after one key press, and the action it requests. */
export const reduceKey = (
  state: ScreenState,
  input: string,
  key: Key,
  plugins: readonly PluginChoice[],
): { state: ScreenState; action?: KeyAction } => {
  // Ctrl-C quits from every mode, as a terminal user expects.
  if (key.ctrl && input === 'c') return { state, action: { kind: 'quit' } };

  const { mode } = state;
  const normal: ScreenState = { ...state, mode: { kind: 'normal' } };

  switch (mode.kind) {
    case 'help':
      if (input === 'q') return { state, action: { kind: 'quit' } };
      return { state: normal };

    case 'confirm-grant':
      if (input === 'y' || input === 'Y') {
        return { state: normal, action: { kind: 'grant', plugin: mode.plugin, capabilities: mode.capabilities } };
      }
      if (input === 'n' || input === 'N' || key.escape) return { state: normal, action: { kind: 'notice', text: 'nothing granted' } };
      return { state };

    case 'confirm-revoke':
      if (input === 'y' || input === 'Y') {
        return { state: normal, action: { kind: 'revoke', plugin: mode.plugin, capability: mode.capability } };
      }
      if (input === 'n' || input === 'N' || key.escape) return { state: normal, action: { kind: 'notice', text: 'nothing revoked' } };
      return { state };

    case 'pick-revoke': {
      if (key.upArrow) return { state: { ...state, mode: { ...mode, index: clamp(mode.index - 1, mode.grants.length) } } };
      if (key.downArrow) return { state: { ...state, mode: { ...mode, index: clamp(mode.index + 1, mode.grants.length) } } };
      if (key.return) {
        const capability = mode.grants[mode.index]!;
        return { state: { ...state, mode: { kind: 'confirm-revoke', plugin: mode.plugin, capability } } };
      }
      if (key.escape || input === 'n') return { state: normal, action: { kind: 'notice', text: 'nothing revoked' } };
      return { state };
    }

    case 'normal':
      return reduceNormalKey(state, input, key, plugins);
  }
};

const reduceNormalKey = (
  state: ScreenState,
  input: string,
  key: Key,
  plugins: readonly PluginChoice[],
): { state: ScreenState; action?: KeyAction } => {
  const selected = plugins[clamp(state.selected, plugins.length)];

  if (key.upArrow) return { state: { ...state, selected: clamp(state.selected - 1, plugins.length) } };
  if (key.downArrow) return { state: { ...state, selected: clamp(state.selected + 1, plugins.length) } };
  if (key.return) {
    if (selected === undefined) return { state };
    if (state.filterPlugin === selected.name) {
      const { filterPlugin: _cleared, ...rest } = state;
      return { state: rest };
    }
    return { state: { ...state, filterPlugin: selected.name } };
  }

  switch (input) {
    case 'q':
      return { state, action: { kind: 'quit' } };
    case '?':
      return { state: { ...state, mode: { kind: 'help' } } };
    case 'd':
      return { state: { ...state, deniedOnly: !state.deniedOnly } };
    case 'p':
      return { state, action: { kind: 'toggle-pause' } };
    case 'g':
      if (selected === undefined) return { state, action: { kind: 'notice', text: 'no plugin is selected' } };
      if (selected.pending.length === 0) {
        return { state, action: { kind: 'notice', text: `${selected.name} has no pending requests to grant` } };
      }
      return { state: { ...state, mode: { kind: 'confirm-grant', plugin: selected.name, capabilities: selected.pending } } };
    case 'r':
      if (selected === undefined) return { state, action: { kind: 'notice', text: 'no plugin is selected' } };
      if (selected.granted.length === 0) return { state, action: { kind: 'notice', text: `${selected.name} has no grants to revoke` } };
      return { state: { ...state, mode: { kind: 'pick-revoke', plugin: selected.name, grants: selected.granted, index: 0 } } };
    default:
      if (key.escape && (state.filterPlugin !== undefined || state.deniedOnly)) return { state: { selected: state.selected, deniedOnly: false, mode: state.mode } };
      return { state };
  }
};
