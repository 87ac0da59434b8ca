/**
 * The service's dependencies, built once per process from the configuration and reused across
 * invocations. Tests and the local host choose them through the settings (DATA_DIR, AzureWebJobsStorage).
 */
import { readConfig, type Config } from './config';
import { openDatabase, type Database } from './db';
import { ConfigurationError } from './errors';
import { BackupStore } from './backup/BackupStore';
import { BlobStorage } from './storage/BlobStorage';
import { blobServiceClient } from './storage/blobService';
import { LoadQueue } from './storage/LoadQueue';
import { queueServiceClient } from './storage/queueService';

export interface Services {
  readonly config: Config;
  readonly db: Database;
  /** Undefined when no storage connection is configured. */
  readonly storage: BlobStorage | undefined;
  readonly backups: BackupStore | undefined;
  /** The queue of load work, in the app's own storage; undefined without one. */
  readonly loads: LoadQueue | undefined;
}

let current: Promise<Services> | undefined;

export function getServices(): Promise<Services> {
  current ??= createServices(readConfig()).catch((error) => {
    current = undefined; // let the next invocation try again (e.g. the database was briefly unreachable)
    throw error;
  });
  return current;
}

export async function createServices(config: Config): Promise<Services> {
  const db = await openDatabase(config);
  const storage = config.storage && new BlobStorage(blobServiceClient(config.storage), config.historicContainer);
  const backups = config.backupStorage && new BackupStore(blobServiceClient(config.backupStorage), config.backupContainer);
  const queues = config.storage && queueServiceClient(config.storage);
  const loads = queues && new LoadQueue(queues.getQueueClient(config.loadQueue), queues.getQueueClient(`${config.loadQueue}-poison`));
  return { config, db, storage, backups, loads };
}

export async function closeServices(): Promise<void> {
  const services = await current;
  current = undefined;
  await services?.db.close();
}

export function requireStorage(services: Services): BlobStorage {
  if (!services.storage)
    throw new ConfigurationError('no storage connection is configured (AzureWebJobsStorage)', 'storage_not_configured');
  return services.storage;
}

/** The blob storage and the load queue, for a load from the historic container. */
export function requireLoadQueue(services: Services): { storage: BlobStorage; queue: LoadQueue } {
  const storage = requireStorage(services);
  if (!services.loads) throw new ConfigurationError('no storage connection is configured (AzureWebJobsStorage)', 'storage_not_configured');
  return { storage, queue: services.loads };
}

export function requireBackups(services: Services): BackupStore {
  if (!services.backups) {
    throw new ConfigurationError('no backup storage is configured (BACKUP_STORAGE or AzureWebJobsStorage)', 'storage_not_configured');
  }
  return services.backups;
}
