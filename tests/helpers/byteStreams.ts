/** Helpers to feed byte streams to the streaming CSV reader in tests. */

export type Part = string | number[] | Uint8Array;

/** Concatenates text (encoded as UTF-8) and raw bytes into one buffer. */
export function bytes(...parts: Part[]): Uint8Array {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p as ArrayLike<number>))));
}

/** An async iterable yielding the given chunks, as copies (so a reader cannot depend on shared buffers). */
export async function* chunks(list: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of list) {
    await Promise.resolve();
    yield Uint8Array.from(c);
  }
}

/** Splits `data` at the given byte offsets. */
export function splitAt(data: Uint8Array, ...offsets: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (const o of [...offsets, data.length]) {
    out.push(data.subarray(start, o));
    start = o;
  }
  return out;
}

/** Splits `data` into chunks of `size` bytes. */
export function everyN(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** Collects every yielded batch of an async generator. */
export async function batchesOf<T>(source: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const batch of source) out.push(batch);
  return out;
}

/** Collects the items of every yielded batch, flattened. */
export async function allOf<T>(source: AsyncIterable<T[]>): Promise<T[]> {
  return (await batchesOf(source)).flat();
}
