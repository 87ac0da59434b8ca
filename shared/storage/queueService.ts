import { QueueServiceClient } from '@azure/storage-queue';
import { DefaultAzureCredential } from '@azure/identity';
import type { StorageConnection } from '../config';

/** A Queue service client for a configured connection: a connection string, or the identity (as blobService.ts). */
export function queueServiceClient(connection: StorageConnection): QueueServiceClient {
  if (connection.kind === 'connectionString') return QueueServiceClient.fromConnectionString(connection.connectionString);
  return new QueueServiceClient(connection.queueServiceUri, new DefaultAzureCredential({ managedIdentityClientId: connection.clientId }));
}
