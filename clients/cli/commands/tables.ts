import type { Command } from 'commander';
import { action, type Cli } from '../cli';
import { EXIT, type ExitCode } from '../exitCodes';
import { formatTable } from '../output';

export function registerTables(program: Command): void {
  program.command('tables').description('the tables and their row counts').action(action(tables));
}

async function tables(cli: Cli): Promise<ExitCode> {
  const answer = await cli.api.get<{ tables: { name: string; columns: string[]; rows: number }[] }>('tables');
  cli.out.result(answer, () =>
    formatTable(
      ['table', 'rows', 'columns'],
      answer.tables.map((t) => ({ table: t.name, rows: t.rows, columns: t.columns.join(', ') })),
    ),
  );
  return EXIT.ok;
}
