import readline from 'node:readline/promises';
import type { Command } from 'commander';
import type { SetRestoreResponse, TableRestoreResponse } from '../api';
import { action, type Cli } from '../cli';
import { CliError } from '../CliError';
import { EXIT, type ExitCode } from '../exitCodes';
import { formatCount } from '../output';

interface RestoreOptions {
  /** A set's name, or true for the newest set. */
  readonly set?: string | true;
  readonly yes?: boolean;
}

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .summary("replace a table's rows (or every table's) with a backup")
    .description(
      "replace a table's rows with one of its backups (by default its newest that is not a safety backup), or with --set every table with a backup set; the rows replaced go to a safety backup first. Needs the admin key on Azure",
    )
    .argument('[table]', 'the table to restore')
    .argument('[backup]', 'the backup, as csv2sql backups <table> lists it: jobs/jobs-20240501T020000123Z.avro')
    .option('--set [name]', 'restore every table from this backup set, as csv2sql backups lists it (by default the newest)')
    .option('--yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
    .action(action(restore));
}

async function restore(cli: Cli, table: string | undefined, backup: string | undefined, options: RestoreOptions): Promise<ExitCode> {
  if ((options.set === undefined) === (table === undefined))
    throw new CliError(EXIT.usage, 'usage', 'name the table to restore, or pass --set for every table (not both)');
  const what =
    options.set === undefined
      ? `the rows of ${table} with ${backup ? `backup ${backup}` : 'its newest backup'}`
      : `every table with ${options.set === true ? 'the newest backup set' : `backup set ${options.set}`}`;
  if (!options.yes && !(await confirmed(`Replace ${what}? The rows replaced go to a safety backup first. [y/N] `))) {
    cli.out.note('nothing restored');
    return EXIT.interrupted;
  }
  if (options.set !== undefined) {
    const restored = await cli.api.post<SetRestoreResponse>('restore', options.set === true ? {} : { set: options.set }, { admin: true });
    cli.out.result(restored, () =>
      [
        `restored backup set ${restored.set}:`,
        ...restored.tables.map((t) => `  ${t.table}: ${formatCount(t.rows)} rows from ${t.backup} (${formatCount(t.rowsBefore)} before)`),
        `safety set of the rows replaced: ${restored.safetySet ?? 'none'}`,
      ].join('\n'),
    );
  } else {
    const restored = await cli.api.post<TableRestoreResponse>(`tables/${encodeURIComponent(table!)}/restore`, backup ? { backup } : {}, {
      admin: true,
    });
    cli.out.result(restored, () =>
      [
        `restored ${restored.table} from ${restored.backup}: ${formatCount(restored.rows)} rows (${formatCount(restored.rowsBefore)} before)`,
        `safety backup of the rows replaced: ${restored.safetyBackup ?? 'none'}`,
        `run ${restored.runId}`,
      ].join('\n'),
    );
  }
  return EXIT.ok;
}

/** Asks on the terminal; without one, a restore must be confirmed with --yes. */
async function confirmed(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new CliError(EXIT.usage, 'confirmation_needed', 'a restore replaces whole tables: without a terminal to ask on, pass --yes');
  }
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } catch (error) {
    // Ctrl+C at the prompt: an answer of no.
    if ((error as Error).name === 'AbortError') return false;
    throw error;
  } finally {
    prompt.close();
  }
}
