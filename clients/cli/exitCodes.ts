/** The exit statuses of csv2sql, for scripts: each says what failed. Listed by --help and the README. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  unreachable: 3,
  refused: 4,
  runFailed: 5,
  rowsRejected: 6,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const MEANING: Record<keyof typeof EXIT, string> = {
  ok: 'success',
  unexpected: 'unexpected error: a bug, or the service answered 5xx',
  usage:
    'bad arguments or options, an unreadable or empty file or one changed while uploaded (also: a restore on a non-interactive terminal without --yes)',
  unreachable: 'cannot reach the service or the storage account',
  refused: 'the service or the storage refused the request (a 4xx: unknown table or run, bad key, ...)',
  runFailed: 'the load (or the run shown) ended failed or cancelled, or was interrupted and will not resume',
  rowsRejected: 'the load (or the run shown) succeeded but rejected rows',
  interrupted: 'interrupted: Ctrl+C, or a restore not confirmed',
};

/** The exit statuses with their meaning, as a --help section. */
export function exitCodesHelp(): string {
  const lines = (Object.keys(EXIT) as (keyof typeof EXIT)[]).map((name) => `  ${String(EXIT[name]).padStart(3)}  ${MEANING[name]}`);
  return `\nExit status:\n${lines.join('\n')}\n`;
}
