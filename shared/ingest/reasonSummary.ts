/**
 * What a run's rejections have in common: each reason reduced to its kind (the field and the
 * message with its numbers replaced by N), counted per run, the most frequent first. How a person
 * sees at a glance that a whole file was rejected for one cause, as pgloader's summary does.
 */
import type { RunRecord } from '../db';
import type { Reason } from '../rules';

/** Kinds counted per run; rarer ones beyond this are counted together, so a run's record stays small. */
const MAX_KINDS = 50;
const OTHER = 'other reasons';

export function reasonKind(reason: Reason): string {
  return `${reason.field ?? 'row'}: ${reason.message.slice(0, 200).replace(/\d+/g, 'N')}`;
}

/** Adds the rows' reasons to the run's tally (kept in its detail), each kind once per row. */
export function tallyReasons(run: RunRecord, rows: readonly { reasons: readonly Reason[] }[]): void {
  if (rows.length === 0) return;
  const tally = ((run.detail ??= {}).reasons ??= {}) as Record<string, number>;
  for (const { reasons } of rows) {
    for (const kind of new Set(reasons.map(reasonKind))) {
      const key = kind in tally || Object.keys(tally).length < MAX_KINDS ? kind : OTHER;
      tally[key] = (tally[key] ?? 0) + 1;
    }
  }
}

/** The run's most frequent kinds of reason, with how many rows had each. */
export function topReasons(run: RunRecord, count = 5): { reason: string; rows: number }[] {
  const tally = (run.detail?.reasons ?? {}) as Record<string, number>;
  return Object.entries(tally)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .slice(0, count)
    .map(([reason, rows]) => ({ reason, rows }));
}

/**
 * What a file whose first rows were all rejected for the same field count looks like, if it
 * looks like something: another separator, or a trailing comma. Undefined otherwise.
 */
export function formatGuess(columns: number, samples: readonly string[]): string | undefined {
  if (samples.length === 0) return undefined;
  const all = (test: (line: string) => boolean) => samples.every(test);
  if (all((line) => line.includes(';') && !line.includes(',')))
    return 'the file looks semicolon-separated; this service reads comma-separated files';
  if (all((line) => line.includes('\t') && !line.includes(',')))
    return 'the file looks tab-separated; this service reads comma-separated files';
  if (all((line) => line.endsWith(',') && line.split(',').length === columns + 1))
    return 'every line ends with a comma: remove the trailing comma';
  if (all((line) => !line.includes(','))) return `the lines have one field each; this table's rows have ${columns}, separated by commas`;
  return undefined;
}
