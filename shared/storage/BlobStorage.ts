import { RestError, type BlobServiceClient } from '@azure/storage-blob';
import { InvalidInputError, NotFoundError } from '../errors';
import { hasControlCharacter } from '../controlCharacters';

/** What the service reads and writes in Blob Storage. */
export class BlobStorage {
  constructor(
    private readonly service: BlobServiceClient,
    private readonly historicContainer: string,
  ) {}

  /**
   * Streams a historical file from the historic container. The path is checked first so that no
   * other container, and nothing outside this one, can be named.
   */
  async openHistoric(path: string): Promise<{ bytes: AsyncIterable<Uint8Array>; contentType: string | undefined }> {
    const name = validBlobPath(path);
    try {
      const download = await this.service.getContainerClient(this.historicContainer).getBlobClient(name).download();
      return { bytes: download.readableStreamBody as AsyncIterable<Uint8Array>, contentType: download.contentType };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        throw new NotFoundError(`no blob "${name}" in the container "${this.historicContainer}"`, 'blob_not_found');
      }
      throw error;
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
