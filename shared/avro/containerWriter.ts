/**
 * Writes an Avro object container file (https://avro.apache.org/docs/1.11.1/specification/#object-container-files)
 * from pages of encoded records (recordEncoder.ts), deflate-compressed, one Buffer per block.
 *
 * avsc's BlockEncoder stream writes the same file, but it takes one record per stream write, and
 * those writes cost more than the rest of a backup together. Here whole pages of records make a
 * block, and each full block is compressed on libuv's thread pool while the next one fills.
 */
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import avro from 'avsc';
import type { AvroRecordSchema } from './schema';
import type { RecordPage } from './recordEncoder';

/**
 * Uncompressed bytes per block, at least (a block is whole pages): large blocks compress better
 * and cost fewer calls.
 */
const BLOCK_BYTES = 512 * 1024;

const deflateRaw = promisify(zlib.deflateRaw);
/**
 * Deflate at level 1: much faster than the default level for a slightly larger file, and any
 * reader inflates it the same way. memLevel 9 (zlib's largest match-finding table, 128 KiB more
 * per stream than the default 8) compresses a backup as well and faster. The output chunk holds a compressed block whole (a block is BLOCK_BYTES plus at most one
 * page, and pages of short records compress well), so zlib hands each block back in one trip from
 * the thread pool rather than one per 16 KiB.
 */
const deflate = (data: Buffer) => deflateRaw(data, { level: 1, memLevel: 9, chunkSize: 2 * BLOCK_BYTES });

/** The file header, as the specification defines it. */
const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
const MAGIC = Buffer.from('Obj\x01');
const LONG = avro.Type.forSchema('long');

/**
 * The file, header first (so that no rows still make a valid file), then a block whenever
 * BLOCK_BYTES of records have arrived. The generator asks for the next page only when its consumer
 * asks for the next block, so memory stays at two blocks whatever the number of rows.
 */
export async function* avroFile(
  schema: AvroRecordSchema,
  metadata: Record<string, string>,
  pages: AsyncIterable<RecordPage>,
): AsyncGenerator<Buffer> {
  const sync = randomBytes(16);
  const meta: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(metadata)) meta[key] = Buffer.from(value);
  meta['avro.schema'] = Buffer.from(JSON.stringify(schema));
  meta['avro.codec'] = Buffer.from('deflate');
  yield HEADER.toBuffer({ magic: MAGIC, meta, sync });

  const frame = async (data: Buffer, count: number) => {
    const compressed = await deflate(data);
    return Buffer.concat([LONG.toBuffer(count), LONG.toBuffer(compressed.length), compressed, sync]);
  };
  let block: Uint8Array[] = [];
  let length = 0;
  let count = 0;
  // The block before this one, being compressed while this one fills.
  let compressing: Promise<Buffer> | undefined;
  for await (const page of pages) {
    block.push(page.bytes);
    length += page.bytes.length;
    count += page.rows;
    if (length >= BLOCK_BYTES) {
      const done = frame(Buffer.concat(block, length), count);
      done.catch(() => undefined); // awaited below, after the previous block; not unhandled meanwhile
      if (compressing) yield await compressing;
      compressing = done;
      block = [];
      length = 0;
      count = 0;
    }
  }
  if (compressing) yield await compressing;
  if (count > 0) yield await frame(Buffer.concat(block, length), count);
}
