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
export function blockId(index: number, data: Uint8Array): string {
  // 5 digits count Azure's 50,000 blocks.
  return Buffer.from(`${String(index).padStart(5, '0')}-${createHash('sha256').update(data).digest('base64url')}`).toString('base64');
}

const BLOCK_ID_LENGTH = blockId(0, new Uint8Array()).length;

export async function uploadFile(blob: BlockBlobClient, file: string, options: UploadOptions): Promise<UploadResult> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const blocks = Math.ceil(size / options.blockSize);
    if (blocks > MAX_BLOCKS) {
      throw new CliError(
        EXIT.usage,
        'too_many_blocks',
        `${formatBytes(size)} in blocks of ${formatBytes(options.blockSize)} is more than Azure's ${MAX_BLOCKS} blocks: pass --block-size ${Math.ceil(size / MAX_BLOCKS / 1024) + 1}K or more`,
      );
    }
    const existing = await blockLists(blob);
    const known = new Set([...existing.committed, ...existing.uncommitted]);
    const ids: string[] = [];
    let progress = { bytes: 0, size, staged: 0, reused: 0 };
    const done = (data: Buffer, counted: 'staged' | 'reused') => {
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
      if (known.has(id)) {
        done(data, 'reused');
        continue;
      }
      // Settles either way, so that one block's failure leaves none of the others unhandled.
      const staging: Promise<void> = blob
        .stageBlock(id, data, data.length, { abortSignal: options.signal })
        .then(
          () => done(data, 'staged'),
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

    const unchanged = ids.length > 0 && ids.length === existing.committed.length && ids.every((id, i) => id === existing.committed[i]);
    // A committed block is found by its id as well as an uncommitted one ("latest"), so an appended file sends only its new blocks.
    if (!unchanged) await blob.commitBlockList(ids, { blobHTTPHeaders: { blobContentType: 'text/csv' }, abortSignal: options.signal });
    return { ...progress, blocks, unchanged };
  } finally {
    await handle.close();
  }
}

/** The blob's committed and uncommitted block ids; none if it does not exist yet. */
async function blockLists(blob: BlockBlobClient): Promise<{ committed: string[]; uncommitted: string[] }> {
  let lists;
  try {
    lists = await blob.getBlockList('all');
  } catch (error) {
    if (error instanceof RestError && error.code === 'BlobNotFound') return { committed: [], uncommitted: [] };
    throw error;
  }
  const uncommitted = (lists.uncommittedBlocks ?? []).map((block) => block.name);
  const foreign = uncommitted.filter((id) => id.length !== BLOCK_ID_LENGTH).length;
  if (foreign > 0) {
    throw new CliError(
      EXIT.refused,
      'foreign_blocks',
      `${blob.name} has ${foreign} uncommitted blocks staged by another tool, whose ids Azure will not mix with csv2sql's: choose another --blob, or wait for Azure to discard them (a week after they were staged)`,
    );
  }
  return { committed: (lists.committedBlocks ?? []).map((block) => block.name), uncommitted };
}

/** Block `index` of the file, whole: its hash and its upload need the same bytes. */
async function readBlock(handle: fs.FileHandle, index: number, blockSize: number, size: number): Promise<Buffer> {
  const position = index * blockSize;
  const data = Buffer.allocUnsafe(Math.min(blockSize, size - position));
  for (let filled = 0; filled < data.length;) {
    const { bytesRead } = await handle.read(data, filled, data.length - filled, position + filled);
    if (bytesRead === 0) throw new CliError(EXIT.unexpected, 'file_changed', 'the file got shorter while it was uploaded');
    filled += bytesRead;
  }
  return data;
}
