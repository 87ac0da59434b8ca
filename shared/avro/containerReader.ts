/**
 * Reads an Avro object container file (https://avro.apache.org/docs/1.11.1/specification/#object-container-files)
 * from a byte stream with every size bounded, for files that may have been crafted: the header,
 * each block as stored and each block inflated. avsc's BlockDecoder inflates a block whatever it
 * grows to, so restores read files here instead.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import avro from 'avsc';
import { AvroFormatError } from './AvroFormatError';

/** The header (magic, metadata with the schema, sync marker) is at most this long. */
export const MAX_HEADER_BYTES = 1024 * 1024;
/**
 * A block, stored or inflated, is at most this long: 32 times the blocks the service writes, and
 * far beyond the 64 KB to 1 MB other Avro writers use.
 */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

const inflateRaw = promisify(zlib.inflateRaw);
const MAGIC = Buffer.from('Obj\x01');
const SYNC_BYTES = 16;

export interface AvroHeader {
  /** The writer schema, as written (JSON). */
  readonly schema: unknown;
  readonly codec: 'null' | 'deflate';
  readonly meta: Readonly<Record<string, Buffer>>;
}

/** One block: how many records it says it holds, and those records, decoded one by one as they are asked for. */
export interface RecordBlock {
  readonly count: number;
  readonly records: Iterable<Record<string, unknown>>;
}

/** Pulls exactly the bytes asked for from a stream of chunks, holding no more than one chunk beyond them. */
class ByteReader {
  /** Chunks received and not yet consumed; the first one from `offset` on. */
  private readonly chunks: Buffer[] = [];
  private offset = 0;
  private available = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Whether the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.available === 0;
  }

  async bytes(length: number): Promise<Buffer> {
    await this.fill(length);
    if (this.available < length) throw new AvroFormatError('the file ends in the middle of a block');
    const bytes = Buffer.allocUnsafe(length);
    for (let copied = 0; copied < length;) {
      const chunk = this.chunks[0];
      const n = chunk.copy(bytes, copied, this.offset, Math.min(chunk.length, this.offset + length - copied));
      copied += n;
      this.offset += n;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.available -= length;
    return bytes;
  }

  /** A zig-zag varint long, as a safe integer. */
  async long(): Promise<number> {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (shift > 63n) throw new AvroFormatError('a length is not a valid Avro long');
      const [byte] = await this.bytes(1);
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    const decoded = (value >> 1n) ^ -(value & 1n);
    if (decoded > BigInt(Number.MAX_SAFE_INTEGER) || decoded < BigInt(Number.MIN_SAFE_INTEGER))
      throw new AvroFormatError('a length is out of range');
    return Number(decoded);
  }

  private async fill(length: number): Promise<void> {
    while (!this.ended && this.available < length) {
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.length);
      this.chunks.push(chunk);
      this.available += chunk.length;
    }
  }
}

export class AvroFileReader {
  private readonly input: ByteReader;
  private readonly source: AsyncIterator<Uint8Array>;
  private sync: Buffer | undefined;
  private headerRead: AvroHeader | undefined;

  constructor(bytes: AsyncIterable<Uint8Array>) {
    this.source = bytes[Symbol.asyncIterator]();
    this.input = new ByteReader(this.source);
  }

  /** Reads the header; AvroFormatError if the bytes are not an Avro file or it is too large. */
  async header(): Promise<AvroHeader> {
    if (this.headerRead) return this.headerRead;
    let budget = MAX_HEADER_BYTES;
    const take = async (length: number) => {
      if (length < 0 || length > budget) throw new AvroFormatError(`the header is longer than ${MAX_HEADER_BYTES} bytes or malformed`);
      budget -= length;
      return this.input.bytes(length);
    };
    const magic = await this.input.bytes(4).catch((error: unknown) => {
      if (error instanceof AvroFormatError) return Buffer.alloc(0); // shorter than a magic number
      throw error;
    });
    if (!magic.equals(MAGIC)) throw new AvroFormatError('it is not an Avro object container file');
    const meta: Record<string, Buffer> = {};
    for (let count = await this.input.long(); count !== 0; count = await this.input.long()) {
      if (count < 0) {
        count = -count;
        await this.input.long(); // the block's size in bytes, which a reader may skip by
      }
      for (let i = 0; i < count; i++) {
        const key = (await take(await this.input.long())).toString('utf8');
        meta[key] = await take(await this.input.long());
      }
    }
    this.sync = await this.input.bytes(SYNC_BYTES);
    const codec = meta['avro.codec']?.toString('utf8') ?? 'null';
    if (codec !== 'null' && codec !== 'deflate') throw new AvroFormatError(`its codec ${JSON.stringify(codec)} is not null or deflate`);
    if (!meta['avro.schema']) throw new AvroFormatError('its header has no schema');
    let schema: unknown;
    try {
      schema = JSON.parse(meta['avro.schema'].toString('utf8'));
    } catch {
      throw new AvroFormatError('its schema is not JSON');
    }
    this.headerRead = { schema, codec, meta };
    return this.headerRead;
  }

  /**
   * The records, a block at a time, decoded with the writer schema (timestamp-millis as epoch
   * milliseconds). At most MAX_BLOCK_BYTES are held for a block, stored or inflated.
   */
  async *blocks(): AsyncGenerator<RecordBlock> {
    try {
      const { schema, codec } = await this.header();
      let type: avro.Type;
      try {
        type = avro.Type.forSchema(schema as avro.Schema);
      } catch (error) {
        throw new AvroFormatError(`its schema is not a valid Avro schema: ${(error as Error).message}`);
      }
      while (!(await this.input.atEnd())) {
        const count = await this.input.long();
        const size = await this.input.long();
        if (count < 0 || size < 0) throw new AvroFormatError('a block has a negative count or size');
        if (size > MAX_BLOCK_BYTES) throw new AvroFormatError(`a block of ${size} bytes is larger than ${MAX_BLOCK_BYTES}`);
        const stored = await this.input.bytes(size);
        if (!(await this.input.bytes(SYNC_BYTES)).equals(this.sync!))
          throw new AvroFormatError("a block does not end with the file's sync marker");
        const data = codec === 'deflate' ? await inflate(stored) : stored;
        // Every record of these schemas takes a byte at least: a larger count is a lie, not a block.
        if (count > data.length) throw new AvroFormatError(`a block claims ${count} records in ${data.length} bytes`);
        yield { count, records: decodeBlock(type, data, count) };
      }
    } finally {
      await this.close();
    }
  }

  /** Stops the download, when the reader stops early. */
  async close(): Promise<void> {
    await this.source.return?.();
  }
}

async function inflate(stored: Buffer): Promise<Buffer> {
  try {
    return await inflateRaw(stored, { maxOutputLength: MAX_BLOCK_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AvroFormatError(`a block inflates to more than ${MAX_BLOCK_BYTES} bytes`);
    }
    throw new AvroFormatError(`a block is not valid deflate data: ${(error as Error).message}`);
  }
}

function* decodeBlock(type: avro.Type, data: Buffer, count: number): Generator<Record<string, unknown>> {
  let offset = 0;
  for (let i = 0; i < count; i++) {
    let decoded: { value: unknown; offset: number };
    try {
      decoded = type.decode(data, offset);
    } catch (error) {
      throw new AvroFormatError(`record ${i + 1} of a block cannot be decoded: ${(error as Error).message}`);
    }
    if (decoded.offset < 0) throw new AvroFormatError(`a block ends in the middle of record ${i + 1}`);
    offset = decoded.offset;
    yield decoded.value as Record<string, unknown>;
  }
  if (offset !== data.length) throw new AvroFormatError(`a block holds ${data.length - offset} bytes after its ${count} records`);
}
