/**
 * Every setting the service reads, with its default, in one place. Settings come from the
 * environment: app settings on Azure, local.settings.json under Core Tools, the shell for
 * `npm start`.
 */
/** Settings that have a default, by their app-setting name. The local host resolves `%NAME%` in schedules from these too. */
export const SETTING_DEFAULTS = {
  DATA_DIR: '.data',
  HISTORIC_CONTAINER: 'historic',
  BACKUP_CONTAINER: 'backups',
  /** NCRONTAB (with seconds): daily at 02:00 UTC. */
  BACKUP_SCHEDULE: '0 0 2 * * *',
} as const;

export interface Config {
  /** Folder of the embedded SQLite database (and of Azurite's data under `npm start`). */
  readonly dataDir: string;
  /** Storage connection string; on Azure the function app's own storage. */
  readonly storageConnection: string | undefined;
  /** The only container that `POST /load {"blob"}` may read. */
  readonly historicContainer: string;
  /** Storage connection string for backups: BACKUP_STORAGE, else the app's own storage. */
  readonly backupStorageConnection: string | undefined;
  readonly backupContainer: string;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    dataDir: env.DATA_DIR || SETTING_DEFAULTS.DATA_DIR,
    storageConnection: env.AzureWebJobsStorage || undefined,
    historicContainer: env.HISTORIC_CONTAINER || SETTING_DEFAULTS.HISTORIC_CONTAINER,
    backupStorageConnection: env.BACKUP_STORAGE || env.AzureWebJobsStorage || undefined,
    backupContainer: env.BACKUP_CONTAINER || SETTING_DEFAULTS.BACKUP_CONTAINER,
  };
}
