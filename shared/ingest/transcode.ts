/**
 * Text in the encodings people's tools write (Excel's "Unicode text" is UTF-16LE; older exports
 * Windows-1252) turned into the UTF-8 the CSV reader reads, through the standard decoder. What
 * cannot be decoded is refused before any row is read, with the command that converts it.
 */
import { UnsupportedFormatError } from '../errors';

/** Declared charsets decoded here, by their WHATWG label; UTF-8 is passed through as it is. */
const DECODED = new Map([
  ['utf-16le', 'utf-16le'],
  ['utf-16be', 'utf-16be'],
  ['utf-16', 'utf-16le'],
  ['windows-1252', 'windows-1252'],
  ['cp1252', 'windows-1252'],
  ['iso-8859-1', 'windows-1252'], // as browsers read it: a superset
  ['latin1', 'windows-1252'],
  ['iso-8859-15', 'iso-8859-15'],
]);
const UTF8 = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
/** Bytes looked at before deciding how to read a file without a declared charset. */
const SNIFF_BYTES = 1024;

/** The names a client may declare, for messages. */
export const CHARSETS = ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'iso-8859-1', 'iso-8859-15'];

function refuse(message: string, charset: string): never {
  throw new UnsupportedFormatError(
    `${message}; convert the file to UTF-8 first, e.g. iconv -f ${charset} -t utf-8 file.csv > file-utf8.csv`,
    'unsupported_charset',
  );
}

/** The charset parameter of a Content-Type value, if it has one. */
export function charsetParam(contentType: string | null | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1];
}

/** 415 now, for a declared charset that is not decoded here. */
export function assertSupportedCharset(charset: string | undefined): void {
  const name = charset?.toLowerCase();
  if (name !== undefined && !UTF8.has(name) && !DECODED.has(name))
    refuse(`charset "${charset}" is not one of ${CHARSETS.join(', ')}`, charset!);
}

/**
 * The bytes as UTF-8. Without a declared charset, a UTF-16 byte-order mark says UTF-16, and a
 * start full of NUL bytes without one is refused (UTF-16 that did not say so); anything else is
 * read as UTF-8, whose invalid bytes reject their own rows.
 */
export async function* toUtf8(
  bytes: AsyncIterable<Uint8Array>,
  charset: string | undefined,
  /** Told, once the file's start is read, the charset it is decoded from (undefined: passed through as UTF-8). */
  decided?: (label: string | undefined) => void,
): AsyncGenerator<Uint8Array> {
  assertSupportedCharset(charset);
  const declared = charset?.toLowerCase();
  const iterator = bytes[Symbol.asyncIterator]();
  // At least SNIFF_BYTES (or the whole file), for the byte-order mark and the NUL count.
  const start: Uint8Array[] = [];
  let started = 0;
  while (started < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) break;
    start.push(next.value);
    started += next.value.length;
  }
  if (started === 0) return;
  const first = { value: Buffer.concat(start) };
  let label = declared === undefined || UTF8.has(declared) ? undefined : DECODED.get(declared);
  if (declared === undefined || declared === 'utf-16') label = byteOrderMark(first.value) ?? label;
  if (declared === undefined && label === undefined && looksLikeUtf16(first.value)) {
    refuse(
      'the file looks like UTF-16 without a byte-order mark; declare it with Content-Type: text/csv; charset=utf-16le (or utf-16be)',
      'utf-16le',
    );
  }
  decided?.(label);
  if (label === undefined) {
    yield first.value;
    for (let more = await iterator.next(); !more.done; more = await iterator.next()) yield more.value;
    return;
  }
  const decoder = new TextDecoder(label, { fatal: true }); // a UTF-16 BOM is dropped by the decoder
  const decode = (chunk: Uint8Array | undefined) => {
    try {
      return Buffer.from(chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode(), 'utf8');
    } catch {
      return refuse(`the file is not valid ${label}`, label!);
    }
  };
  yield decode(first.value);
  for (let more = await iterator.next(); !more.done; more = await iterator.next()) yield decode(more.value);
  yield decode(undefined);
}

function byteOrderMark(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** Many NUL bytes, nearly all at even or nearly all at odd positions: mostly-ASCII text in UTF-16. */
function looksLikeUtf16(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, SNIFF_BYTES);
  let even = 0;
  let odd = 0;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] === 0 && i % 2) odd++;
    else if (sample[i] === 0) even++;
  }
  return sample.length >= 4 && Math.max(even, odd) >= sample.length / 4 && Math.min(even, odd) <= Math.max(even, odd) / 2;
}
