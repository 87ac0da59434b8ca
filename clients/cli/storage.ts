/**
 * The historic container that loads read, reached as the person's own identity: locally with the
 * Azurite connection string of `npm start`, on Azure by account name with DefaultAzureCredential
 * (az login, environment variables, a managed identity) and no account key.
 */
import { BlobServiceClient, RestError, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { AZURITE_STANDARD_PORTS, connectionStringFor } from '../../local/azurite';
import { CliError } from './CliError';
import { EXIT } from './exitCodes';
import { UnreachableError } from './UnreachableError';

/** The storage of `npm start`: its Azurite, with the well-known development account. */
export const LOCAL_STORAGE = connectionStringFor(AZURITE_STANDARD_PORTS.blob, AZURITE_STANDARD_PORTS.queue);

/** A few retries ride out Azure's brief 503s; a try that has not ended in two minutes (room for a 100M block on a slow line) is given up. */
const PIPELINE: StoragePipelineOptions = {
  retryOptions: { maxTries: 4, retryDelayInMs: 500, maxRetryDelayInMs: 8_000, tryTimeoutInMs: 120_000 },
};

/** What DefaultAzureCredential throws when it finds no identity, or is refused a token. */
const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError']);

export interface StorageSettings {
  readonly storageConnectionString: string;
  readonly storageAccount?: string;
  readonly container: string;
}

export async function historicContainer(settings: StorageSettings): Promise<ContainerClient> {
  if (!settings.storageAccount) return fromConnectionString(settings.storageConnectionString).getContainerClient(settings.container);
  // Loaded only for Azure: it is large, and the local storage needs none of it.
  const { DefaultAzureCredential } = await import('@azure/identity');
  const service = new BlobServiceClient(`https://${settings.storageAccount}.blob.core.windows.net`, new DefaultAzureCredential(), PIPELINE);
  return service.getContainerClient(settings.container);
}

/** The SDK's error for a malformed connection string is a usage error; its message never holds the string (it may hold a key). */
function fromConnectionString(connection: string): BlobServiceClient {
  try {
    return BlobServiceClient.fromConnectionString(connection, PIPELINE);
  } catch (error) {
    throw new CliError(
      EXIT.usage,
      'bad_connection_string',
      `--storage-connection-string (AZURE_STORAGE_CONNECTION_STRING) is not a storage connection string: ${firstLine((error as Error).message)}`,
    );
  }
}

/** A storage failure as what it means to the person: no answer (3), a refusal or no identity (4), or a 5xx (1). */
export function storageError(error: unknown, container: ContainerClient): unknown {
  // Without the query: a connection string's SAS token is in the container's URL.
  const { origin, pathname } = new URL(container.url);
  const where = `the storage at ${origin}${pathname}`;
  if (error instanceof RestError) {
    if (error.statusCode === undefined) return new UnreachableError(where, error);
    if (error.code === 'ContainerNotFound') {
      return new CliError(EXIT.refused, 'container_not_found', `${where} has no such container: --container (HISTORIC_CONTAINER) names it`);
    }
    return new CliError(
      error.statusCode < 500 ? EXIT.refused : EXIT.unexpected,
      error.code ?? `storage_${error.statusCode}`,
      `${where} answered ${error.statusCode}: ${firstLine(error.message)}`,
    );
  }
  if (error instanceof Error && CREDENTIAL_ERRORS.has(error.name)) {
    return new CliError(
      EXIT.refused,
      'no_credential',
      `no Microsoft Entra identity for ${where} (sign in with az login, or pass --storage-connection-string): ${firstLine(error.message)}`,
    );
  }
  return error;
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
