import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors';
import { hasControlCharacter } from '../controlCharacters';

/** What the service reads and writes in Blob Storage. */
export class BlobStorage {
  constructor(
    private readonly service: BlobServiceClient,
    private readonly historicContainer: string,
  ) {}

  /** The version of a historical file that a load will read: its ETag, size and declared type; 404 if it does not exist. */
  async historicVersion(path: string): Promise<BlobVersion> {
    const name = validBlobPath(path);
    try {
      const properties = await this.service.getContainerClient(this.historicContainer).getBlobClient(name).getProperties();
      return { path: name, etag: properties.etag!, size: properties.contentLength ?? 0, contentType: properties.contentType };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        throw new NotFoundError(`no blob "${name}" in the container "${this.historicContainer}"`, 'blob_not_found');
      }
      throw error;
    }
  }

  /** The bytes of that version from `offset` on; a blob replaced since fails with blob_changed. */
  async readVersion(version: BlobVersion, offset: number): Promise<AsyncIterable<Uint8Array>> {
    const client = this.service.getContainerClient(this.historicContainer).getBlobClient(version.path);
    if (offset >= version.size) return (async function* () {})();
    try {
      const download = await client.download(offset, undefined, { conditions: { ifMatch: version.etag } });
      return changedAsBlobChanged(download.readableStreamBody as AsyncIterable<Uint8Array>, version);
    } catch (error) {
      throw blobChangedOr(error, version);
    }
  }

  /** Creates the service's containers where they are missing (on Azure, the infrastructure creates them). */
  async ensureContainers(): Promise<void> {
    await this.service.getContainerClient(this.historicContainer).createIfNotExists();
  }

  /** Throws if the storage account cannot be reached. */
  async ping(): Promise<void> {
    await this.service.getContainerClient(this.historicContainer).exists();
  }
}

/** One version of a blob: what a load reads from its first invocation to its last. */
export interface BlobVersion {
  readonly path: string;
  readonly etag: string;
  readonly size: number;
  readonly contentType: string | undefined;
}

function blobChangedOr(error: unknown, version: BlobVersion): unknown {
  if (error instanceof RestError && (error.statusCode === 412 || error.statusCode === 404)) {
    return new ConflictError(
      `the blob "${version.path}" was replaced or deleted after the load began (ETag ${version.etag}); what was committed stays: load the new file as a new load`,
      'blob_changed',
    );
  }
  return error;
}

/** A download whose retries (after a dropped connection) meet a replaced blob fails as blob_changed too. */
async function* changedAsBlobChanged(bytes: AsyncIterable<Uint8Array>, version: BlobVersion): AsyncGenerator<Uint8Array> {
  try {
    yield* bytes;
  } catch (error) {
    throw blobChangedOr(error, version);
  }
}

/** A blob name inside the container: relative, no `..` or empty segments, no backslashes or control characters. */
export function validBlobPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidInputError('a blob path must be a non-empty string', 'bad_blob_path');
  const bad =
    path.length > 1024 ||
    path.startsWith('/') ||
    path.includes('\\') ||
    hasControlCharacter(path) ||
    path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..') ||
    /^[a-z][a-z0-9+.-]*:/i.test(path);
  if (bad) {
    throw new InvalidInputError(
      `a blob path must be inside the container, like "2024/hired_employees.csv"; got ${JSON.stringify(path)}`,
      'bad_blob_path',
    );
  }
  return path;
}
