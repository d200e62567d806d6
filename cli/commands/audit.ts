/**
 * `plugrun audit`: print the audit log's events, filtered, as a table or as
 * NDJSON, optionally following new ones; and `plugrun audit verify`: check
 * the hash chain across the rotated files.
 */

import type { Argv, CommandModule } from 'yargs';

import type { AuditEvent } from '../../runtime/audit.js';
import type { AuditFilter } from '../../runtime/audit-read.js';
import { AuditTable } from '../audit-table.js';
import { ExitCode, printData, printJson, printMessage, useColor, whenStdoutClosed } from '../output.js';
import { projectFrom, runHandler, usageError, type GlobalArgs } from './common.js';

interface AuditArgs extends GlobalArgs {
  readonly plugin?: string[];
  readonly cap?: string[];
  readonly op?: string[];
  readonly outcome?: string[];
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
  readonly json: boolean;
  readonly follow: boolean;
}

interface VerifyArgs extends GlobalArgs {
  readonly json: boolean;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const ISO_TIME = /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?$/;

/**
 * Parses `--since` or `--until`: an ISO 8601 time (a date alone is midnight
 * UTC, a time without offset is local time) or a duration before now, such
 * as `30s`, `10m`, `2h`, `7d`, `1w`. Returns milliseconds since the epoch.
 */
export const parseTimeOption = (option: string, alleged: string, now = Date.now()): number => {
  const relative = /^([0-9]{1,9})(s|m|h|d|w)$/.exec(alleged.trim());
  if (relative !== null) return now - Number(relative[1]) * UNIT_MS[relative[2]!]!;
  const time = ISO_TIME.test(alleged.trim()) ? Date.parse(alleged.trim()) : Number.NaN;
  if (Number.isNaN(time)) {
    throw usageError(
      `invalid --${option} ${JSON.stringify(alleged)}: use an ISO 8601 time such as 2026-12-04T19:30:00Z or 2026-12-04, or a duration before now such as 30s, 10m, 2h, 7d`,
    );
  }
  return time;
};

const filterFrom = (argv: AuditArgs): AuditFilter => {
  const list = (values: string[] | undefined) => (values === undefined || values.length === 0 ? undefined : values.map(String));
  const plugins = list(argv.plugin);
  const caps = list(argv.cap);
  const ops = list(argv.op);
  const outcomes = list(argv.outcome);
  return {
    ...(plugins ? { plugins } : {}),
    ...(caps ? { caps } : {}),
    ...(ops ? { ops } : {}),
    ...(outcomes ? { outcomes } : {}),
    ...(argv.since === undefined ? {} : { since: parseTimeOption('since', argv.since) }),
    ...(argv.until === undefined ? {} : { until: parseTimeOption('until', argv.until) }),
  };
};

/** Resolves on the first SIGINT or SIGTERM, or when stdout's reader goes away. */
const waitForInterrupt = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    void whenStdoutClosed().then(resolve);
  });

const show = async (argv: AuditArgs): Promise<number> => {
  const project = projectFrom(argv);
  const filter = filterFrom(argv);
  if (argv.limit !== undefined && (!Number.isSafeInteger(argv.limit) || argv.limit < 1)) {
    throw usageError(`invalid --limit ${JSON.stringify(String(argv.limit))}: use a whole number of events, 1 or more`);
  }
  const { followAuditLog, matchesFilter, readAuditLog } = await import('../../runtime/audit-read.js');
  const { toSafeJson } = await import('../../runtime/audit-event.js');

  // The newest `--limit` matches are kept while reading, so memory stays bounded.
  const selected: AuditEvent[] = [];
  const position = readAuditLog(project.auditLog, (event) => {
    if (!matchesFilter(event, filter)) return;
    selected.push(event);
    if (argv.limit !== undefined && selected.length > argv.limit) selected.shift();
  });

  const table = new AuditTable(useColor(process.stdout));
  const print = (event: AuditEvent) => printData(argv.json ? toSafeJson(event) : table.row(event));
  if (argv.json) selected.forEach(print);
  else if (selected.length > 0 || argv.follow) table.format(selected).forEach((line) => printData(line));
  if (!argv.json && selected.length === 0 && !argv.follow) printMessage(`no audit events match in ${project.auditLog}`);
  if (!argv.follow) return ExitCode.ok;

  const stop = followAuditLog(project.auditLog, {
    from: position,
    onEvent: (event) => {
      if (matchesFilter(event, filter)) print(event);
    },
  });
  await waitForInterrupt();
  stop();
  return ExitCode.ok;
};

const verify = async (argv: VerifyArgs): Promise<number> => {
  const project = projectFrom(argv);
  const { verifyAuditLog } = await import('../../runtime/audit-verify.js');
  const result = verifyAuditLog(project.auditLog);

  if (argv.json) {
    printJson(result);
    return result.intact ? ExitCode.ok : ExitCode.failure;
  }
  if (result.files.length === 0) {
    printMessage(`no audit log at ${project.auditLog}; nothing to verify`);
    return ExitCode.ok;
  }
  for (const cut of result.incomplete) {
    printMessage(`incomplete write at ${cut.file}:${cut.line}: a line cut off by a crash while it was written, not tampering; its call never returned to the plugin`);
  }
  if (result.startsAtSeq !== undefined && result.startsAtSeq > 1) {
    printMessage(`the chain starts at seq ${result.startsAtSeq}: the events before it were in rotated files that were deleted`);
  }
  if (result.break !== undefined) {
    printMessage(`audit chain broken (${result.break.kind}): ${result.break.message}; ${result.events} events before it verified`);
    return ExitCode.failure;
  }
  const head = result.head === undefined ? '' : `; last event seq ${result.head.seq}, hash ${result.head.hash}`;
  printMessage(`audit chain intact: ${result.events} events in ${result.files.length} file${result.files.length === 1 ? '' : 's'}${head}`);
  return ExitCode.ok;
};

const verifyCommand: CommandModule<GlobalArgs, VerifyArgs> = {
  command: 'verify',
  describe: 'Check the hash chain across the current and rotated files',
  builder: (yargs) =>
    yargs
      .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON on stdout' })
      .example('$0 audit verify', 'Exit 0 when the chain is intact, 1 naming the file and line of the first break'),
  handler: runHandler(verify),
};

/** The `audit` command and its `verify` subcommand. */
export const auditCommand: CommandModule<GlobalArgs, AuditArgs> = {
  command: 'audit',
  describe: 'Print, filter and follow audit events; audit verify checks the hash chain',
  builder: (yargs: Argv<GlobalArgs>) =>
    yargs
      .command(verifyCommand)
      .option('plugin', { type: 'string', array: true, describe: 'Only events of this plugin (repeatable)' })
      .option('cap', { type: 'string', array: true, choices: ['fs', 'net', 'db', 'msg', 'config', 'log', 'runtime'], describe: 'Only this cap (repeatable)' })
      .option('op', { type: 'string', array: true, describe: 'Only this op, such as readFile or start (repeatable)' })
      .option('outcome', { type: 'string', array: true, choices: ['allowed', 'denied', 'error'], describe: 'Only this outcome (repeatable)' })
      .option('since', { type: 'string', describe: 'Only events at or after this time: ISO 8601, or a duration before now such as 10m' })
      .option('until', { type: 'string', describe: 'Only events at or before this time: ISO 8601, or a duration before now' })
      .option('limit', { type: 'number', describe: 'Print only the newest N matching events' })
      .option('json', { type: 'boolean', default: false, describe: 'Print NDJSON, one event per line, instead of a table' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Keep printing new events until Ctrl-C' })
      .example('$0 audit --outcome denied --since 1h', 'Denied calls of the last hour')
      .example('$0 audit --plugin notes --json | jq .target', 'NDJSON for scripts')
      .example('$0 audit -f --cap net', 'Follow network requests as they happen') as never,
  handler: runHandler(show),
};
