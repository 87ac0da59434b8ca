import type { Command } from 'commander';
import type { BackupInfo, BackupSet } from '../api';
import { action, type Cli } from '../cli';
import { EXIT, type ExitCode } from '../exitCodes';
import { formatTable } from '../output';
import { backupsTable } from './backup';

export function registerBackups(program: Command): void {
  program
    .command('backups')
    .description("the backup sets, newest first; or a table's backups (its own and its sets' files): the names restore takes")
    .argument('[table]', "this table's backups")
    .action(action(backups));
}

async function backups(cli: Cli, table: string | undefined): Promise<ExitCode> {
  if (table) {
    const answer = await cli.api.get<{ table: string; backups: BackupInfo[] }>(`tables/${encodeURIComponent(table)}/backups`);
    cli.out.result(answer, () => backupsTable(answer.backups));
  } else {
    const answer = await cli.api.get<{ sets: BackupSet[] }>('backups');
    cli.out.result(answer, () =>
      formatTable(
        ['set', 'kind', 'createdAt', 'rows'],
        answer.sets.map((s) => ({ ...s, rows: s.tables.map((t) => `${t.table} ${t.rows}`).join(', ') })),
      ),
    );
  }
  return EXIT.ok;
}
