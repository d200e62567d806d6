/**
 * The one parser and normaliser of capability strings, used for manifests,
 * the lockfile, CLI arguments and the runtime alike, so that every place
 * agrees on what a string grants. Each kind's rules sit in its own file
 * (`fs.ts`, `net.ts`, `db.ts`, `msg.ts`). This file dispatches on the kind
 * and builds the error message.
 */

import { describeType, quote } from './arguments.js';
import { formatDbCapability, parseDbCapability } from './db.js';
import { invalid, type PlugrunError } from './errors.js';
import { formatFsCapability, parseFsCapability } from './fs.js';
import { formatMsgCapability, parseMsgCapability } from './msg.js';
import { formatNetCapability, parseNetCapability } from './net.js';
import type { Capability, Grant } from './types.js';

/** The result of parsing the part of a capability string after its kind. */
export type KindParseResult<Parsed extends Capability> =
  | { readonly capability: Parsed }
  | { readonly problem: string };

/** Every valid form of capability string, with what it grants, for error messages and help text. */
export const CAPABILITY_FORMS: readonly { readonly form: string; readonly grants: string }[] = Object.freeze([
  { form: 'fs:<dir>/', grants: 'read and write files under .plugrun/data/<plugin>/<dir>/' },
  { form: 'fs.read:<dir>/', grants: 'read files under .plugrun/data/<plugin>/<dir>/' },
  { form: 'net:<host>', grants: 'HTTP and HTTPS requests to that host, any port' },
  { form: 'net:<host>:<port>', grants: 'that host, that port only' },
  { form: 'net:*.<domain>', grants: 'any subdomain of the domain, not the domain itself' },
  { form: 'db:<table>', grants: "create and use the plugin's own table <table>" },
  { form: 'db:*', grants: "all of the plugin's own tables" },
  { form: 'msg:<plugin>', grants: 'call the commands of that other plugin' },
]);

/** Maximum length of a capability string, in characters. An fs folder is its longest part. */
const CAPABILITY_MAX_CHARS = 4200;

const validForms = `Valid forms: ${CAPABILITY_FORMS.map(({ form }) => form).join(', ')}`;

const capabilityError = (alleged: string, problem: string): PlugrunError =>
  invalid(`invalid capability ${quote(alleged)}: ${problem}. ${validForms}`);

/**
 * Parses and normalises a capability string. Throws `PLUGRUN_INVALID` whose
 * message names the value, what is wrong with it and the valid forms.
 */
export const parseCapability = (alleged: unknown): Grant => {
  if (typeof alleged !== 'string') {
    throw invalid(`a capability must be a string, got ${describeType(alleged)}. ${validForms}`);
  }
  if (alleged.length > CAPABILITY_MAX_CHARS) {
    throw capabilityError(alleged, `it is longer than ${CAPABILITY_MAX_CHARS} characters`);
  }

  // Whitespace is rejected rather than trimmed. A capability string must be a
  // single shell word, because denial messages print `plugrun grant <plugin>
  // <capability>` for the user to run, and " net:a.com" or "net: a.com" is
  // more likely a quoting mistake than a request.
  if (/\s/u.test(alleged)) {
    const around = /^\s|\s$/u.test(alleged);
    throw capabilityError(alleged, around ? 'it has whitespace around it' : 'it contains whitespace');
  }

  const colon = alleged.indexOf(':');
  if (colon === -1) throw capabilityError(alleged, 'it has no kind, but it must start with fs:, fs.read:, net:, db: or msg:');
  const kind = alleged.slice(0, colon);
  const body = alleged.slice(colon + 1);

  let result: KindParseResult<Capability>;
  switch (kind) {
    case 'fs':
      result = parseFsCapability('write', body);
      break;
    case 'fs.read':
      result = parseFsCapability('read', body);
      break;
    case 'net':
      result = parseNetCapability(body);
      break;
    case 'db':
      result = parseDbCapability(body);
      break;
    case 'msg':
      result = parseMsgCapability(body);
      break;
    default:
      throw capabilityError(alleged, `the kind ${quote(kind)} is unknown`);
  }

  if ('problem' in result) throw capabilityError(alleged, result.problem);
  return { text: formatCapability(result.capability), capability: result.capability };
};

/** Returns the canonical text of a parsed capability. Parsing that text gives the same capability. */
export const formatCapability = (capability: Capability): string => {
  switch (capability.kind) {
    case 'fs':
      return formatFsCapability(capability);
    case 'net':
      return formatNetCapability(capability);
    case 'db':
      return formatDbCapability(capability);
    case 'msg':
      return formatMsgCapability(capability);
  }
};
