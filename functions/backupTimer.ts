import { app, type InvocationContext, type Timer } from '@azure/functions';
import { backupAllTables } from '../shared/backup/backupTable';
import { getServices, requireBackups } from '../shared/services';

/** Snapshots every table on the schedule in the BACKUP_SCHEDULE app setting (NCRONTAB; default daily at 02:00 UTC). */
export async function backupTimer(timer: Timer, context: InvocationContext): Promise<void> {
  if (timer.isPastDue) context.warn('the backup schedule is running late');
  const services = await getServices();
  for (const backup of await backupAllTables(services.db, requireBackups(services))) {
    context.log(`backed up ${backup.table}: ${backup.rows} rows to ${backup.backup} (${backup.bytes} bytes, sha256 ${backup.sha256})`);
  }
}

app.timer('backupTimer', {
  schedule: '%BACKUP_SCHEDULE%',
  handler: backupTimer,
});
