/**
 * The integrity string pinned in plugin.lock.json for each plugin.
 *
 * It covers everything that decides what runs in the compartment, in a fixed
 * order: the manifest bytes, the plugin's package.json bytes (empty when it
 * has none), and the SHA-512 of the archive's compartment map, which in turn
 * lists the SHA-512 of every module loaded, the plugin's own dependencies
 * included. Changing any byte of code that would run changes the string.
 */

import crypto from 'node:crypto';

/** Computes a hex SHA-512, the form compartment-mapper records for each module. */
export const computeSha512 = (bytes: Uint8Array): string =>
  crypto.createHash('sha512').update(bytes).digest('hex');

/** Computes a hex SHA-256. */
export const computeSha256 = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

/** Format version mixed into the hash, so a change of recipe never matches an old pin. */
const RECIPE = 'plugrun-integrity-v1';

/** The parts the integrity string is computed from. */
export interface IntegrityParts {
  readonly manifestBytes: Uint8Array;
  readonly packageJsonBytes: Uint8Array;
  /** Hex SHA-512 of the archive's compartment-map.json. */
  readonly mapSha512: string;
}

/** Computes `sha512-<base64>` over the parts, each framed by its length so no two splits collide. */
export const computeIntegrity = (parts: IntegrityParts): string => {
  const hash = crypto.createHash('sha512');
  const frame = (label: string, bytes: Uint8Array) => {
    hash.update(`${label}:${bytes.byteLength}\n`);
    hash.update(bytes);
    hash.update('\n');
  };
  hash.update(`${RECIPE}\n`);
  frame('manifest', parts.manifestBytes);
  frame('package.json', parts.packageJsonBytes);
  frame('compartment-map', new TextEncoder().encode(parts.mapSha512));
  return `sha512-${hash.digest('base64')}`;
};
