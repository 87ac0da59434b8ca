import { InvalidInputError, TooLargeError } from '../../shared/errors';

/** Nesting deeper than a row needs by far; deeper values would not serialise back (a stack overflow). */
export const MAX_JSON_DEPTH = 32;

/**
 * Splits a JSON array into its elements, each with its exact source text, so that a rejected row
 * is logged as it was sent (JSON.stringify would lose number formatting, big-number digits and
 * key order). Throws a InvalidInputError if the text is not a JSON array, or nests deeper than
 * MAX_JSON_DEPTH; a TooLargeError, before anything is parsed, if it has more than
 * `maxElements` elements.
 */
export function splitJsonArray(text: string, maxElements: number): { raw: string; value: unknown }[] {
  const bounds = elementBounds(text, maxElements);
  const values = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!Array.isArray(values)) throw new InvalidInputError('the body must be a JSON array of row objects', 'malformed_json');
  // The text parsed, so the scan's boundaries are the elements'.
  return values.map((value, i) => ({ raw: text.slice(bounds[i] + 1, bounds[i + 1]).trim(), value }));
}

/**
 * Finds where a would-be JSON array's elements begin and end, counting them and the nesting in one
 * pass, without building any value: a body of a million tiny rows is refused at the 1001st, in
 * microseconds. Returns the positions of the opening bracket, of each comma between elements,
 * and of the closing bracket. Malformed text is left to JSON.parse to describe.
 */
function elementBounds(text: string, maxElements: number): number[] {
  const array = /^\uFEFF?\s*\[/.test(text); // elements are counted in an array only
  const bounds: number[] = [];
  let depth = 0;
  let elements = 0;
  let empty = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = closingQuote(text, i);
      empty = false;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new InvalidInputError(`the body nests deeper than ${MAX_JSON_DEPTH} levels`, 'json_too_deep');
      if (depth === 1) bounds.push(i);
      else empty = false;
    } else if (c === 0x5d || c === 0x7d) {
      if (--depth === 0) bounds.push(i);
    } else if (depth === 1 && c === 0x2c) {
      bounds.push(i);
      elements++;
    } else if (depth >= 1 && c > 0x20) {
      empty = false;
    }
    if (array && elements + (empty ? 0 : 1) > maxElements) {
      throw new TooLargeError(`the batch has more than ${maxElements} rows: at most ${maxElements} per request (use /load for files)`);
    }
  }
  return bounds;
}

/** Where the string opened at `open` ends (the text's length if it does not): the next quote after an even run of backslashes. */
function closingQuote(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return text.length;
}

/** Parses a JSON request body; a InvalidInputError saying where it is malformed if it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`the body is not valid JSON: ${(error as Error).message}`, 'malformed_json');
  }
}
