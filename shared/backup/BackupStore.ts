/**
 * The backups container: one Avro file per snapshot, named `<table>/<table>-<UTC time>.avro`,
 * with the row count and SHA-256 of the file in its blob metadata.
 */
import { createHash } from 'node:crypto';
import { RestError, type BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';
import type { TableDef } from '../tables';

export interface BackupInfo {
  readonly table: string;
  readonly backup: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly createdAt: string;
}

/**
 * Staged block size: the memory a backup holds for its upload, whatever the table's size. 1 MiB
 * rather than 4: each block is a new buffer, and larger ones left 10 MB more resident after a
 * 10M-row backup (the allocator keeps freed large buffers for reuse). A blob holds up to 50,000
 * blocks: 48 GiB.
 */
const BLOCK_BYTES = 1024 * 1024;
/** Staged blocks uploading at once. */
const STAGING_BLOCKS = 2;

export class BackupStore {
  private readonly container: ContainerClient;
  private containerReady: Promise<unknown> | undefined;

  constructor(service: BlobServiceClient, containerName: string) {
    this.container = service.getContainerClient(containerName);
  }

  /** Creates the container if it is missing, once per process (a new storage account has none). */
  async ensureContainer(): Promise<void> {
    this.containerReady ??= this.container.createIfNotExists().catch((error) => {
      this.containerReady = undefined;
      throw error;
    });
    await this.containerReady;
  }

  /**
   * Uploads a backup from a byte stream as staged blocks, then commits them with their metadata
   * in one step: the blob appears complete, with its checksum, or not at all. A block uploads
   * while the stream produces the next: at most STAGING_BLOCKS are held.
   */
  async write(name: string, bytes: AsyncIterable<Uint8Array>, metadata: () => Record<string, string>): Promise<{ bytes: number; sha256: string }> {
    await this.ensureContainer();
    const blob = this.container.getBlockBlobClient(name);
    const hash = createHash('sha256');
    const blockIds: string[] = [];
    const staging: Promise<unknown>[] = [];
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let total = 0;
    const stage = () => {
      const block = Buffer.concat(pending);
      const id = Buffer.from(String(blockIds.length).padStart(8, '0')).toString('base64');
      const staged = blob.stageBlock(id, block, block.length);
      staged.catch(() => undefined); // awaited below; not unhandled while the stream goes on
      staging.push(staged);
      blockIds.push(id);
      pending = [];
      pendingBytes = 0;
    };
    try {
      for await (const chunk of bytes) {
        hash.update(chunk);
        total += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= BLOCK_BYTES) {
          stage();
          if (staging.length >= STAGING_BLOCKS) await staging.shift();
        }
      }
      if (pendingBytes > 0 || blockIds.length === 0) stage();
    } finally {
      await Promise.allSettled(staging); // no upload outlives the call
    }
    await Promise.all(staging);
    const sha256 = hash.digest('hex');
    try {
      await blob.commitBlockList(blockIds, {
        metadata: { ...metadata(), sha256 },
        blobHTTPHeaders: { blobContentType: 'application/avro' },
        conditions: { ifNoneMatch: '*' },
      });
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 409) throw new ConflictError(`a backup named ${name} already exists`, 'backup_exists');
      throw error;
    }
    return { bytes: total, sha256 };
  }

  /** The table's backups, newest first. Blobs that are not complete backups of the table are left out. */
  async list(table: TableDef): Promise<BackupInfo[]> {
    await this.ensureContainer();
    const backups: BackupInfo[] = [];
    for await (const item of this.container.listBlobsFlat({ prefix: `${table.name}/`, includeMetadata: true })) {
      if (isBackupName(table, item.name) && item.metadata?.sha256) {
        backups.push(describe(table, item.name, item.properties.contentLength ?? 0, item.metadata));
      }
    }
    return backups.sort((a, b) => (a.backup < b.backup ? 1 : a.backup > b.backup ? -1 : 0));
  }

  /** The backup's description and ETag; 404 if there is no such complete backup. */
  async info(table: TableDef, name: string): Promise<BackupInfo & { etag: string }> {
    try {
      const properties = await this.container.getBlobClient(name).getProperties();
      if (!properties.metadata?.sha256) throw new NotFoundError(`backup ${name} is not complete`, 'backup_not_found');
      return { ...describe(table, name, properties.contentLength ?? 0, properties.metadata), etag: properties.etag! };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) throw new NotFoundError(`no backup ${name}`, 'backup_not_found');
      throw error;
    }
  }

  /** Streams the backup, failing if it changes meanwhile (its ETag no longer matches). */
  async read(name: string, etag: string): Promise<AsyncIterable<Uint8Array>> {
    const download = await this.container.getBlobClient(name).download(0, undefined, { conditions: { ifMatch: etag } });
    return download.readableStreamBody as AsyncIterable<Uint8Array>;
  }

  async ping(): Promise<void> {
    await this.container.exists();
  }
}

/** `<table>/<table>-yyyyMMddTHHmmssSSSZ.avro`, for a snapshot taken at `at`. */
export function backupName(table: TableDef, at: Date): string {
  const stamp = at.toISOString().replace(/[-:.]/g, ''); // 20210727T160208123Z
  return `${table.name}/${table.name}-${stamp}.avro`;
}

function isBackupName(table: TableDef, name: string): boolean {
  return new RegExp(`^${table.name}/${table.name}-\\d{8}T\\d{9}Z\\.avro$`).test(name);
}

/** A client-supplied backup name: only a backup of this table, in this container. */
export function checkBackupName(table: TableDef, name: unknown): string {
  if (typeof name !== 'string' || !isBackupName(table, name)) {
    throw new BadRequestError(
      `"backup" must name a backup of ${table.name}, like "${backupName(table, new Date(0))}"; got ${JSON.stringify(name)}`,
      'bad_backup_name',
    );
  }
  return name;
}

function describe(table: TableDef, name: string, bytes: number, metadata: Record<string, string>): BackupInfo {
  return {
    table: table.name,
    backup: name,
    rows: Number(metadata.rows),
    bytes,
    sha256: metadata.sha256,
    createdAt: metadata.createdat ?? '',
  };
}
