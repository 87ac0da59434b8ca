/**
 * Every setting the service reads, with its default, in one place. Settings come from the
 * environment: app settings on Azure, local.settings.json under Core Tools, the shell for
 * `npm start`.
 */
export interface Config {
  /** Folder of the embedded SQLite database (and of Azurite's data under `npm start`). */
  readonly dataDir: string;
  /** Storage connection string; on Azure the function app's own storage. */
  readonly storageConnection: string | undefined;
  /** The only container that `POST /load {"blob"}` may read. */
  readonly historicContainer: string;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    dataDir: env.DATA_DIR || '.data',
    storageConnection: env.AzureWebJobsStorage || undefined,
    historicContainer: env.HISTORIC_CONTAINER || 'historic',
  };
}
