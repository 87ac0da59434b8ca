/**
 * A file uploaded as a block blob in a way that resumes. Each block's id is its index and the
 * SHA-256 of its bytes, so a rerun of the same upload computes the same ids: the blocks that the
 * blob already holds, staged by an interrupted run or committed by an earlier one, are not sent
 * again, and a blob that already is this file is left alone (its version, which a load reads,
 * unchanged). The file is read one block at a time, with a few blocks in flight at most.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { RestError, type BlockBlobClient } from '@azure/storage-blob';
import { CliError } from './CliError';
import { EXIT } from './exitCodes';
import { formatBytes } from './output';

/** Azure's limit of blocks in one blob. */
const MAX_BLOCKS = 50_000;
/** Enough to keep the connection busy; memory holds this many blocks, and the one being read. */
const BLOCKS_IN_FLIGHT = 4;

export interface UploadProgress {
  readonly bytes: number;
  readonly size: number;
  /** Blocks sent by this run. */
  readonly staged: number;
  /** Blocks the blob held already with the same bytes, not sent again. */
  readonly reused: number;
}

export interface UploadResult extends UploadProgress {
  readonly blocks: number;
  /** The blob already was this file: nothing sent, nothing committed. */
  readonly unchanged: boolean;
}

export interface UploadOptions {
  readonly blockSize: number;
  /** Aborting stops the blocks in flight; those staged stay for a rerun (Azure keeps them a week). */
  readonly signal: AbortSignal;
  /** At the start, and after each block staged or found. */
  onProgress(progress: UploadProgress): void;
}

/** A block's id: fixed-length (Azure wants one length for a blob's ids), from what makes it this block. */
function blockId(index: number, data: Uint8Array): string {
  // 5 digits count Azure's 50,000 blocks.
  return Buffer.from(`${String(index).padStart(5, '0')}-${createHash('sha256').update(data).digest('base64url')}`).toString('base64');
}

const BLOCK_ID_LENGTH = blockId(0, new Uint8Array()).length;

export async function uploadFile(blob: BlockBlobClient, file: string, options: UploadOptions): Promise<UploadResult> {
  const handle = await fs.open(file, 'r');
  try {
    const { size, mtimeMs } = await handle.stat();
    const blocks = Math.ceil(size / options.blockSize);
    if (blocks > MAX_BLOCKS) {
      throw new CliError(
        EXIT.usage,
        'too_many_blocks',
        `${formatBytes(size)} in blocks of ${formatBytes(options.blockSize)} is more than Azure's ${MAX_BLOCKS} blocks: pass --block-size ${Math.ceil(size / MAX_BLOCKS / 1024) + 1}K or more`,
      );
    }
    const existing = await blockLists(blob);
    // Put Block List's "latest" finds a committed block by its id as well as a staged one: a grown file sends only the blocks from its old last one on.
    const heldIds = new Set([...existing.committed, ...existing.uncommitted]);
    const ids: string[] = [];
    let progress = { bytes: 0, size, staged: 0, reused: 0 };
    const countBlock = (data: Buffer, counted: 'staged' | 'reused') => {
      progress = { ...progress, bytes: progress.bytes + data.length, [counted]: progress[counted] + 1 };
      options.onProgress(progress);
    };
    options.onProgress(progress);

    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    for (let index = 0; index < blocks && !failure && !options.signal.aborted; index++) {
      const data = await readBlock(handle, index, options.blockSize, size);
      const id = blockId(index, data);
      ids.push(id);
      if (heldIds.has(id)) {
        countBlock(data, 'reused');
        continue;
      }
      // Settles either way, so that one block's failure leaves none of the others unhandled.
      const staging: Promise<void> = blob
        // Checked by the storage: a block corrupted on the way is refused, not vouched for by its id in later runs.
        .stageBlock(id, data, data.length, {
          abortSignal: options.signal,
          transactionalContentMD5: createHash('md5').update(data).digest(),
        })
        .then(
          () => countBlock(data, 'staged'),
          (error: unknown) => {
            failure ??= { error };
          },
        )
        .finally(() => inFlight.delete(staging));
      inFlight.add(staging);
      if (inFlight.size >= BLOCKS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    options.signal.throwIfAborted();
    if (failure) throw failure.error;

    const now = await handle.stat();
    if (now.size !== size || now.mtimeMs !== mtimeMs) {
      throw new CliError(EXIT.usage, 'file_changed', `${file} changed while it was uploaded: run the command again once it is written`);
    }
    const unchanged = ids.length === existing.committed.length && ids.every((id, i) => id === existing.committed[i]);
    if (!unchanged) await commit(blob, ids, existing.etag, options.signal);
    return { ...progress, blocks, unchanged };
  } finally {
    await handle.close();
  }
}

interface BlockLists {
  readonly committed: string[];
  readonly uncommitted: string[];
  /** The blob's version before its lists were read; undefined if it did not exist (uncommitted blocks alone are no blob). */
  readonly etag: string | undefined;
}

/** The blob's version, then its committed and uncommitted block ids; none if it does not exist yet. */
async function blockLists(blob: BlockBlobClient): Promise<BlockLists> {
  // From the blob's properties: Get Block List gives an ETag even for a blob of uncommitted blocks alone (Azurite), which is no version.
  const etag = await unlessNotFound(async () => (await blob.getProperties()).etag);
  const lists = await unlessNotFound(() => blob.getBlockList('all'));
  if (!lists) return { committed: [], uncommitted: [], etag };
  const uncommitted = (lists.uncommittedBlocks ?? []).map((block) => block.name);
  const foreign = uncommitted.filter((id) => id.length !== BLOCK_ID_LENGTH).length;
  if (foreign > 0) {
    throw new CliError(
      EXIT.refused,
      'foreign_blocks',
      `${blob.name} has ${foreign} uncommitted blocks staged by another tool, whose ids Azure will not mix with csv2sql's: choose another --blob, or wait for Azure to discard them (a week after they were staged)`,
    );
  }
  return { committed: (lists.committedBlocks ?? []).map((block) => block.name), uncommitted, etag };
}

/** The answer, or undefined for a blob that does not exist. */
async function unlessNotFound<T>(request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch (error) {
    // A HEAD's 404 may come without its code: only a missing container is told apart.
    if (error instanceof RestError && error.statusCode === 404 && error.code !== 'ContainerNotFound') return undefined;
    throw error;
  }
}

/** Commits only the version whose lists were read (or, if none, only if none has appeared): a blob written meanwhile is not overwritten. */
async function commit(blob: BlockBlobClient, ids: string[], etag: string | undefined, abortSignal: AbortSignal): Promise<void> {
  try {
    await blob.commitBlockList(ids, {
      blobHTTPHeaders: { blobContentType: 'text/csv' },
      conditions: etag ? { ifMatch: etag } : { ifNoneMatch: '*' },
      abortSignal,
    });
  } catch (error) {
    if (error instanceof RestError && (error.statusCode === 412 || error.code === 'BlobAlreadyExists')) {
      throw new CliError(
        EXIT.refused,
        'blob_changed',
        `the blob changed while uploading (${blob.name} was written by something else): nothing committed; run the same command again to upload over it`,
      );
    }
    throw error;
  }
}

/** Block `index` of the file, whole: its hash and its upload need the same bytes. */
async function readBlock(handle: fs.FileHandle, index: number, blockSize: number, size: number): Promise<Buffer> {
  const position = index * blockSize;
  const data = Buffer.allocUnsafe(Math.min(blockSize, size - position));
  for (let filled = 0; filled < data.length;) {
    const { bytesRead } = await handle.read(data, filled, data.length - filled, position + filled);
    if (bytesRead === 0) throw new CliError(EXIT.usage, 'file_changed', 'the file got shorter while it was uploaded');
    filled += bytesRead;
  }
  return data;
}
