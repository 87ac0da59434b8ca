/**
 * The backups container: one Avro file per table and snapshot, named `<table>/<table>-<UTC
 * time>.avro`, with the row count, the SHA-256 of the file, its kind and its set in its blob
 * metadata; and a manifest per backup set, `sets/<UTC time>.json`, listing the set's files.
 */
import { createHash } from 'node:crypto';
import { RestError, type BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { InvalidInputError, ConflictError, NotFoundError, UnusableError } from '../errors';
import type { TableDef } from '../tables';

/** `safety`: taken by a restore of what it replaced; `backup`: any other. */
export type BackupKind = 'backup' | 'safety';

export interface BackupInfo {
  readonly table: string;
  readonly backup: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly createdAt: string;
  readonly kind: BackupKind;
  /** The set the file belongs to, or null for a backup of one table. */
  readonly set: string | null;
}

/** A backup set: every table at one instant. Its manifest is written after its files: a set whose manifest exists is complete. */
export interface BackupSet {
  readonly set: string;
  readonly kind: BackupKind;
  readonly createdAt: string;
  /** In dependency order, parents first. */
  readonly tables: readonly BackupInfo[];
}

/** A blob of the container, as retention sees it. */
export interface StoredBackup {
  readonly name: string;
  /** The table, for a table's file; null for a set's manifest. */
  readonly table: string | null;
  readonly kind: BackupKind;
  readonly set: string | null;
  readonly createdAt: string;
}

const SETS = 'sets/';

/**
 * Staged block size: the memory a backup holds for its upload, whatever the table's size. 1 MiB
 * rather than 4: each block is a new buffer, and larger ones stay resident after a large backup
 * (the allocator keeps freed large buffers for reuse). A blob holds up to 50,000
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
  async write(
    name: string,
    bytes: AsyncIterable<Uint8Array>,
    metadata: () => Record<string, string>,
  ): Promise<{ bytes: number; sha256: string }> {
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
      if (error instanceof RestError && error.statusCode === 409)
        throw new ConflictError(`a backup named ${name} already exists`, 'backup_exists');
      throw error;
    }
    return { bytes: total, sha256 };
  }

  /** Writes a set's manifest, after its files; 409 if the set exists. */
  async writeManifest(manifest: BackupSet): Promise<void> {
    await this.ensureContainer();
    const text = JSON.stringify(manifest);
    try {
      await this.container.getBlockBlobClient(manifestName(manifest.set)).upload(text, Buffer.byteLength(text), {
        metadata: { kind: manifest.kind, createdat: manifest.createdAt },
        blobHTTPHeaders: { blobContentType: 'application/json' },
        conditions: { ifNoneMatch: '*' },
      });
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 409)
        throw new ConflictError(`a backup set named ${manifest.set} already exists`, 'backup_exists');
      throw error;
    }
  }

  /** The set's manifest; 404 if there is no such set. */
  async readSet(set: string): Promise<BackupSet> {
    const blob = this.container.getBlobClient(manifestName(set));
    try {
      const { contentLength } = await blob.getProperties();
      if ((contentLength ?? 0) > MAX_MANIFEST_BYTES) throw new UnusableError(`the manifest of set ${set} is too large`, 'backup_invalid');
      const manifest: unknown = JSON.parse((await blob.downloadToBuffer()).toString('utf8'));
      if (manifest === null || typeof manifest !== 'object' || !Array.isArray((manifest as BackupSet).tables)) {
        throw new UnusableError(`the manifest of set ${set} does not list its tables`, 'backup_invalid');
      }
      return manifest as BackupSet;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) throw new NotFoundError(`no backup set ${set}`, 'backup_not_found');
      if (error instanceof SyntaxError) throw new UnusableError(`the manifest of set ${set} is not JSON`, 'backup_invalid');
      throw error;
    }
  }

  /** The sets, newest first. */
  async listSets(): Promise<BackupSet[]> {
    const names: string[] = [];
    for (const item of await this.listAll()) if (item.table === null) names.push(item.set!);
    return Promise.all(names.map((set) => this.readSet(set)));
  }

  /** Every complete backup file and set manifest, newest first: what retention decides on. */
  async listAll(): Promise<StoredBackup[]> {
    await this.ensureContainer();
    const stored: StoredBackup[] = [];
    for await (const item of this.container.listBlobsFlat({ includeMetadata: true })) {
      const metadata = item.metadata ?? {};
      const kind = kindOf(metadata);
      const set = SET_MANIFEST.exec(item.name)?.[1];
      if (set) {
        stored.push({ name: item.name, table: null, kind, set, createdAt: metadata.createdat ?? '' });
        continue;
      }
      const table = /^([a-z_]+)\//.exec(item.name)?.[1];
      if (table && isBackupName(table, item.name) && metadata.sha256) {
        stored.push({ name: item.name, table, kind, set: metadata.set ?? null, createdAt: metadata.createdat ?? '' });
      }
    }
    return stored.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.name < b.name ? 1 : -1));
  }

  async delete(name: string): Promise<void> {
    await this.container.getBlobClient(name).deleteIfExists();
  }

  /** The table's backups, newest first. Blobs that are not complete backups of the table are left out. */
  async list(table: TableDef): Promise<BackupInfo[]> {
    await this.ensureContainer();
    const backups: BackupInfo[] = [];
    for await (const item of this.container.listBlobsFlat({ prefix: `${table.name}/`, includeMetadata: true })) {
      if (isBackupName(table.name, item.name) && item.metadata?.sha256) {
        backups.push(describe(table, item.name, item.properties.contentLength ?? 0, item.metadata));
      }
    }
    return backups.sort((a, b) => (a.backup < b.backup ? 1 : a.backup > b.backup ? -1 : 0));
  }

  /** The table's newest backup that is not a safety backup; 404 if it has none. */
  async newest(table: TableDef): Promise<string> {
    const latest = (await this.list(table)).find((b) => b.kind !== 'safety');
    if (!latest)
      throw new NotFoundError(`there is no backup of ${table.name} (safety backups are restored only by name)`, 'backup_not_found');
    return latest.backup;
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
  return `${table.name}/${table.name}-${setName(at)}.avro`;
}

/** The UTC instant that names backups and sets: yyyyMMddTHHmmssSSSZ (see setName). */
const STAMP = String.raw`\d{8}T\d{9}Z`;

function isBackupName(table: string, name: string): boolean {
  return new RegExp(`^${table}/${table}-${STAMP}\\.avro$`).test(name);
}

/** A blob's kind, from its metadata: only `safety` is said; anything else is a backup. */
function kindOf(metadata: Record<string, string>): BackupKind {
  return metadata.kind === 'safety' ? 'safety' : 'backup';
}

/** A set is named by the instant of its snapshot: yyyyMMddTHHmmssSSSZ. */
export function setName(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

function manifestName(set: string): string {
  return `${SETS}${set}.json`;
}

const SET_MANIFEST = new RegExp(`^${SETS}(${STAMP})\\.json$`);
/** A manifest lists three files: anything much larger was not written by this service. */
const MAX_MANIFEST_BYTES = 64 * 1024;

/** A client-supplied set name. */
export function validSetName(name: unknown): string {
  if (typeof name !== 'string' || !new RegExp(`^${STAMP}$`).test(name)) {
    throw new InvalidInputError(
      `"set" must name a backup set, like "${setName(new Date(0))}"; got ${JSON.stringify(name)}`,
      'bad_backup_name',
    );
  }
  return name;
}

/** A client-supplied backup name: only a backup of this table, in this container. */
export function validBackupName(table: TableDef, name: unknown): string {
  if (typeof name !== 'string' || !isBackupName(table.name, name)) {
    throw new InvalidInputError(
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
    kind: kindOf(metadata),
    set: metadata.set ?? null,
  };
}
