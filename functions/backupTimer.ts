import { app, type InvocationContext, type Timer } from '@azure/functions';
import { backupSet } from '../shared/backup/backupTable';
import { pruneBackups } from '../shared/backup/retention';
import { getServices, requireBackups } from '../shared/services';

/**
 * Snapshots every table as one backup set on the schedule in the BACKUP_SCHEDULE app setting
 * (NCRONTAB; default daily at 02:00 UTC), then deletes the backups the retention no longer keeps.
 */
export async function backupTimer(timer: Timer, context: InvocationContext): Promise<void> {
  if (timer.isPastDue) context.warn('the backup schedule is running late');
  const services = await getServices();
  const store = requireBackups(services);
  const set = await backupSet(services.db, store);
  for (const backup of set.tables) {
    context.log(`backed up ${backup.table}: ${backup.rows} rows to ${backup.backup} (${backup.bytes} bytes, sha256 ${backup.sha256})`);
  }
  context.log(`backup set ${set.set} written`);
  const deleted = await pruneBackups(store, services.config.backupRetention);
  if (deleted.length) context.log(`retention deleted ${deleted.length} backup blobs: ${deleted.join(', ')}`);
}

app.timer('backupTimer', {
  schedule: '%BACKUP_SCHEDULE%',
  handler: backupTimer,
});
