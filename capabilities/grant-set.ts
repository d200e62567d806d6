/**
 * The grants of one plugin, and the decision whether they cover what a call
 * needs. There is no implicit grant: an empty set covers nothing, and a need
 * is compared only with grants of its own kind.
 */

import { parseCapability } from './capability-string.js';
import { compareText } from './compare.js';
import { dbGrantCovers, neededDbCapability } from './db.js';
import { fsGrantCovers, neededFsCapability } from './fs.js';
import { msgGrantCovers, neededMsgCapability } from './msg.js';
import { neededNetCapability, netGrantCovers } from './net.js';
import type { Capability, Grant, Need } from './types.js';

/** Checks whether one granted capability covers a need. */
export const capabilityCovers = (capability: Capability, need: Need): boolean => {
  if (capability.kind === 'fs' && need.kind === 'fs') return fsGrantCovers(capability, need);
  if (capability.kind === 'net' && need.kind === 'net') return netGrantCovers(capability, need);
  if (capability.kind === 'db' && need.kind === 'db') return dbGrantCovers(capability, need);
  if (capability.kind === 'msg' && need.kind === 'msg') return msgGrantCovers(capability, need);
  return false;
};

/**
 * Returns the exact capability string whose grant would allow a call with
 * this need, for the denial message `plugrun grant <plugin> <capability>`.
 */
export const neededCapability = (need: Need): string => {
  switch (need.kind) {
    case 'fs':
      return neededFsCapability(need);
    case 'net':
      return neededNetCapability(need);
    case 'db':
      return neededDbCapability(need);
    case 'msg':
      return neededMsgCapability(need);
  }
};

/** An immutable set of parsed grants, without duplicates, sorted by canonical text. */
export class GrantSet {
  /** The grants, sorted by their canonical text. */
  readonly grants: readonly Grant[];

  /**
   * Makes a set from capability strings or grants. Each one is parsed again
   * from its text, so a hand-built `Grant` whose capability does not match
   * its text cannot widen the set. Throws `PLUGRUN_INVALID` at the first
   * invalid string.
   */
  constructor(grants: Iterable<string | Grant>) {
    const byText = new Map<string, Grant>();
    for (const grant of grants) {
      const parsed = parseCapability(typeof grant === 'string' ? grant : grant.text);
      byText.set(parsed.text, Object.freeze({ text: parsed.text, capability: Object.freeze(parsed.capability) }));
    }

    const sorted = [...byText.values()].sort((a, b) => compareText(a.text, b.text));
    this.grants = Object.freeze(sorted);
    Object.freeze(this);
  }

  /** Checks whether any grant covers the need. */
  covers(need: Need): boolean {
    return this.find(need) !== undefined;
  }

  /**
   * Returns the first grant, in sorted order, that covers the need, or
   * undefined. The net code uses it to learn whether the covering grant may
   * reach private addresses.
   */
  find(need: Need): Grant | undefined {
    return this.grants.find((grant) => capabilityCovers(grant.capability, need));
  }

  /** Checks whether the set contains a capability, compared by canonical text. */
  has(capability: string): boolean {
    const { text } = parseCapability(capability);
    return this.grants.some((grant) => grant.text === text);
  }

  /** Returns the canonical texts of the grants, sorted, as the lockfile stores them. */
  texts(): string[] {
    return this.grants.map((grant) => grant.text);
  }
}
