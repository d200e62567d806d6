/**
 * The result format every benchmark script shares, and the two ways it is
 * printed: a Markdown table for people and a JSON array for scripts.
 */

import os from 'node:os';

/** The direction in which a figure improves. */
export type Direction = 'higher' | 'lower';

/** One measured case, as `npm run bench -- --json` prints it. */
export interface BenchCase {
  /** The name of the measurement, for example `ctx.fs.readFile 4 KiB vs Deno`. */
  readonly case: string;
  /** The unit and its direction, for example `reads/s (higher is better)`. */
  readonly unit: string;
  /** plugrun's figure, the median of the runs. */
  readonly plugrun: number;
  /** The baseline's figure from the same run, or null when the case has none or the peer was skipped. */
  readonly baseline: number | null;
  /** The baseline's description, for example `deno 2.9.6, Deno.readTextFile`. */
  readonly baselineName: string | null;
  /** plugrun's figure over the baseline's, or null without a baseline. */
  readonly ratio: number | null;
  /** The goal in words, for example `ratio >= 1.0`, or `none`. */
  readonly target: string;
  /** Whether the goal was met; null when there is no goal or no baseline to judge it by. */
  readonly met: boolean | null;
}

/** A goal on the ratio or on plugrun's own figure. */
export type Goal =
  | { readonly ratio: number }
  | { readonly value: number; readonly unit: string }
  | null;

/** The fields a script supplies; the ratio, the target text and `met` are derived. */
export interface CaseInput {
  readonly case: string;
  /** The unit alone, such as `ms` or `reads/s`; the direction is appended. */
  readonly unit: string;
  readonly direction: Direction;
  readonly plugrun: number;
  readonly baseline?: number | null;
  readonly baselineName?: string | null;
  readonly goal?: Goal;
}

const meets = (direction: Direction, figure: number, bound: number): boolean =>
  direction === 'higher' ? figure >= bound : figure <= bound;

/** Makes a case, deriving its ratio, target text and whether the goal was met. */
export const makeCase = (input: CaseInput): BenchCase => {
  const baseline = input.baseline ?? null;
  const ratio = baseline === null || baseline === 0 ? null : input.plugrun / baseline;
  const sign = input.direction === 'higher' ? '>=' : '<=';
  const goal = input.goal ?? null;
  let target = 'none';
  let met: boolean | null = null;
  if (goal !== null && 'ratio' in goal) {
    target = `ratio ${sign} ${goal.ratio.toFixed(1)}`;
    met = ratio === null ? null : meets(input.direction, ratio, goal.ratio);
  } else if (goal !== null) {
    target = `${sign} ${goal.value} ${goal.unit}`;
    met = meets(input.direction, input.plugrun, goal.value);
  }
  return {
    case: input.case,
    unit: `${input.unit} (${input.direction} is better)`,
    plugrun: input.plugrun,
    baseline,
    baselineName: input.baselineName ?? null,
    ratio,
    target,
    met,
  };
};

/** Returns the median of a non-empty list. */
export const median = (values: readonly number[]): number => {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The machine the figures come from: CPU model, cores, Node version and kernel. */
export const describeMachine = (): string =>
  `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;

const formatNumber = (value: number): string => {
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
};

/** Formats cases as a Markdown table. */
export const formatTable = (cases: readonly BenchCase[]): string => {
  const lines = ['| case | plugrun | baseline | ratio | target | met |', '| --- | --- | --- | --- | --- | --- |'];
  for (const entry of cases) {
    const unit = entry.unit.split(' (')[0];
    let baseline = '–';
    if (entry.baseline !== null) baseline = `${formatNumber(entry.baseline)} ${unit}, ${entry.baselineName}`;
    else if (entry.baselineName !== null) baseline = `skipped: ${entry.baselineName}`;
    const ratio = entry.ratio === null ? '–' : entry.ratio.toFixed(2);
    let met = '–';
    if (entry.met !== null) met = entry.met ? 'yes' : 'no';
    lines.push(`| ${entry.case} | ${formatNumber(entry.plugrun)} ${unit} | ${baseline} | ${ratio} | ${entry.target} | ${met} |`);
  }
  return `${lines.join('\n')}\n`;
};

/** Options every benchmark script reads from its arguments. */
export interface BenchOptions {
  /** Fewer runs and smaller rounds, for a run under two minutes in all. */
  readonly quick: boolean;
  /** Print a JSON array of cases on stdout instead of a table. */
  readonly json: boolean;
}

/** Reads `--quick` and `--json` from the command line. */
export const readBenchOptions = (argv: readonly string[] = process.argv.slice(2)): BenchOptions => ({
  quick: argv.includes('--quick'),
  json: argv.includes('--json'),
});

/**
 * Prints a script's cases: the JSON array on stdout with `--json`, otherwise
 * the machine line and a table. Notes (skipped peers and the like) go to
 * stderr, so stdout stays data.
 */
export const printCases = (title: string, cases: readonly BenchCase[], options: BenchOptions): void => {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(cases, null, 2)}\n`);
    return;
  }
  process.stdout.write(`### ${title}\n\nMachine: ${describeMachine()}\n\n${formatTable(cases)}\n`);
};
