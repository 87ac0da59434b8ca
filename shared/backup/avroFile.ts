/**
 * Writes an Avro object container file (https://avro.apache.org/docs/1.11.1/specification/#object-container-files)
 * from pages of rows, deflate-compressed, one Buffer per block.
 *
 * avsc's BlockEncoder stream writes the same file, but it takes one record per stream write, and
 * those writes cost more than the rest of a backup together. Here the records are encoded with
 * avsc's compiled writer straight into the block, and each full block is compressed on libuv's
 * thread pool while the next one is encoded.
 */
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import avro from 'avsc';
import type { Row } from '../tables';
import type { AvroRecordSchema } from './avroSchema';

/** Uncompressed bytes per block: large blocks compress better and cost fewer calls. */
const BLOCK_BYTES = 512 * 1024;

const deflateRaw = promisify(zlib.deflateRaw);
/**
 * Deflate at level 1: several times faster than the default level for a file a few percent
 * larger, and any reader inflates it the same way. The output chunk holds any compressed block
 * whole, so zlib hands each block back in one trip from the thread pool, not one per 16 KiB.
 */
const deflate = (data: Buffer) => deflateRaw(data, { level: 1, chunkSize: BLOCK_BYTES + 64 * 1024 });

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
 * BLOCK_BYTES of records are encoded. Rows are arrays in the schema's field order; the
 * generator asks for the next page only when its consumer asks for the next block, so memory stays
 * at two blocks whatever the number of rows.
 */
export async function* avroFile(schema: AvroRecordSchema, metadata: Record<string, string>, pages: AsyncIterable<readonly Row[]>): AsyncGenerator<Buffer> {
  const type = avro.Type.forSchema(schema);
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
  // Two buffers in turn: one being filled, the other being compressed.
  let block = Buffer.allocUnsafe(BLOCK_BYTES);
  let spare = Buffer.allocUnsafe(BLOCK_BYTES);
  let compressing: Promise<Buffer> | undefined;
  let length = 0;
  let count = 0;
  // One record object, refilled for each row: what avsc's writer reads, without an allocation per row.
  const names = schema.fields.map((f) => f.name);
  const record: Record<string, unknown> = {};
  for await (const page of pages) {
    for (const row of page) {
      for (let i = 0; i < names.length; i++) record[names[i]] = row[i];
      let end = type.encode(record, block, length);
      if (end < 0 && count > 0) {
        // The block is full: compress it while the next one fills.
        const done = frame(block.subarray(0, length), count);
        done.catch(() => undefined); // awaited below, after the previous block; not unhandled meanwhile
        if (compressing) yield await compressing;
        compressing = done;
        [block, spare] = [spare, block];
        count = 0;
        end = type.encode(record, block, 0);
      }
      if (end < 0) {
        // A record larger than a block: a block of its own size.
        block = Buffer.allocUnsafe(block.length - end);
        end = type.encode(record, block, 0);
      }
      length = end;
      count++;
    }
  }
  if (compressing) yield await compressing;
  if (count > 0) yield await frame(block.subarray(0, length), count);
}
