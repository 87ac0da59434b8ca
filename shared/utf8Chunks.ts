/** UTF-8 bytes to text, chunk by chunk, for the CSV reader: invalid bytes are reported by line, never fatal. */

export interface DecodedText {
  readonly text: string;
  /** Ranges [start, end) of `text` decoded from invalid bytes (as U+FFFD). */
  readonly invalid: readonly [number, number][];
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
  private started = false;

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
    if (!this.started && decoded.text.length) {
      this.started = true;
      if (decoded.text.charCodeAt(0) === 0xfeff) {
        decoded = { text: decoded.text.slice(1), invalid: decoded.invalid.map(([a, b]) => [Math.max(0, a - 1), b - 1]) };
      }
    }
    return decoded;
  }

  /** The slow path, for a chunk with invalid bytes: line by line (a LF byte never occurs inside a UTF-8 sequence). */
  private byLine(bytes: Uint8Array): DecodedText {
    let text = '';
    const invalid: [number, number][] = [];
    for (let from = 0; from < bytes.length;) {
      const newline = bytes.indexOf(0x0a, from);
      const to = newline === -1 ? bytes.length : newline + 1;
      const line = bytes.subarray(from, to);
      try {
        text += this.strict.decode(line);
      } catch {
        const lossy = this.lenient.decode(line);
        invalid.push([text.length, text.length + lossy.length]);
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
