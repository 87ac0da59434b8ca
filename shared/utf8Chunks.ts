/** UTF-8 bytes to text, chunk by chunk, for the CSV reader: invalid bytes are reported by line, never fatal. */

/** [start, end, bytes]: characters start to end of the text, decoded from `bytes` bytes that were not valid UTF-8. */
export type InvalidRange = readonly [number, number, number];

export interface DecodedText {
  readonly text: string;
  /** Ranges [start, end) of `text` decoded from invalid bytes (as U+FFFD), with how many bytes each was. */
  readonly invalid: readonly InvalidRange[];
}

/**
 * Decodes UTF-8 chunk by chunk, never splitting a character across chunks. Invalid bytes do not
 * stop the stream: the lines holding them are decoded with U+FFFD and reported, so that exactly
 * those rows are rejected, and a genuine U+FFFD elsewhere is left alone.
 */
export class Utf8ChunkDecoder {
  private readonly strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly lenient = new TextDecoder('utf-8', { ignoreBOM: true });
  private carry: Uint8Array | undefined;

  /** `atStart`: the stream begins here, so a byte-order mark is dropped; false when reading resumes mid-file. */
  constructor(private atStart = true) {}

  /** Bytes received and not yet decoded: the start of a character that the next chunk completes. */
  get carriedBytes(): number {
    return this.carry?.length ?? 0;
  }

  decode(chunk: Uint8Array): DecodedText {
    const bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const end = completeLength(bytes);
    this.carry = end < bytes.length ? bytes.slice(end) : undefined;
    return this.text(bytes.subarray(0, end));
  }

  end(): DecodedText {
    const rest = this.carry ?? new Uint8Array(0);
    this.carry = undefined;
    return this.text(rest);
  }

  private text(bytes: Uint8Array): DecodedText {
    let decoded: DecodedText;
    try {
      decoded = { text: this.strict.decode(bytes), invalid: [] };
    } catch {
      decoded = this.byLine(bytes);
    }
    if (this.atStart && decoded.text.length) {
      this.atStart = false;
      if (decoded.text.charCodeAt(0) === 0xfeff) {
        decoded = {
          text: decoded.text.slice(1),
          invalid: decoded.invalid.map(([a, b, n]) => (a === 0 ? [0, b - 1, n - 3] : [a - 1, b - 1, n])),
        };
      }
    }
    return decoded;
  }

  /** The slow path, for a chunk with invalid bytes: line by line (a LF byte never occurs inside a UTF-8 sequence). */
  private byLine(bytes: Uint8Array): DecodedText {
    let text = '';
    const invalid: InvalidRange[] = [];
    for (let from = 0; from < bytes.length;) {
      const newline = bytes.indexOf(0x0a, from);
      const to = newline === -1 ? bytes.length : newline + 1;
      const line = bytes.subarray(from, to);
      try {
        text += this.strict.decode(line);
      } catch {
        const lossy = this.lenient.decode(line);
        invalid.push([text.length, text.length + lossy.length, line.length]);
        text += lossy;
      }
      from = to;
    }
    return { text, invalid };
  }
}

/** Length of the prefix of `bytes` that ends on a character boundary (an incomplete tail waits for the next chunk). */
function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back];
    if ((b & 0xc0) !== 0x80) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return need > back ? n - back : n;
    }
  }
  return n;
}
