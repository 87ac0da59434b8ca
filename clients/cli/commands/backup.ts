import type { Command } from 'commander';
import type { BackupInfo, BackupSet } from '../api';
import { action, type Cli } from '../cli';
import { EXIT, type ExitCode } from '../exitCodes';
import { formatBytes, formatTable } from '../output';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('back up every table at one instant (a backup set), or one table, now')
    .argument('[table]', 'only this table')
    .action(action(backup));
}

async function backup(cli: Cli, table: string | undefined): Promise<ExitCode> {
  if (table) {
    const { backups } = await cli.api.post<{ backups: BackupInfo[] }>(`tables/${encodeURIComponent(table)}/backups`);
    cli.out.result({ backups }, () => `backed up ${table}:\n${backupsTable(backups)}`);
  } else {
    const set = await cli.api.post<BackupSet>('backups');
    cli.out.result(set, () => `backup set ${set.set} (${set.createdAt}):\n${backupsTable(set.tables)}`);
  }
  return EXIT.ok;
}

/** Backup files as a table, for backup and backups. */
export function backupsTable(backups: readonly BackupInfo[]): string {
  return formatTable(
    ['table', 'backup', 'kind', 'rows', 'size'],
    backups.map((b) => ({ ...b, size: formatBytes(b.bytes) })),
  );
}
