import { BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import type { StorageConnection } from '../config';

/**
 * A Blob service client for a configured connection. Identity-based connections authenticate with
 * DefaultAzureCredential: the managed identity on Azure (the user-assigned one when a client id is
 * given), the developer's Azure CLI login elsewhere. No account key is needed, so the account can
 * have shared-key access disabled.
 */
export function blobServiceClient(connection: StorageConnection): BlobServiceClient {
  if (connection.kind === 'connectionString') return BlobServiceClient.fromConnectionString(connection.connectionString);
  return new BlobServiceClient(connection.blobServiceUri, new DefaultAzureCredential({ managedIdentityClientId: connection.clientId }));
}
