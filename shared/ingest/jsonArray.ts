import { BadRequestError } from '../errors';

/**
 * Splits a JSON array into its elements, each with its exact source text, so that a rejected row
 * is logged as it was sent (JSON.stringify would lose number formatting, big-number digits and
 * key order). Throws a BadRequestError if the text is not a JSON array.
 */
export function splitJsonArray(text: string): { raw: string; value: unknown }[] {
  const values = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!Array.isArray(values)) throw new BadRequestError('the body must be a JSON array of row objects', 'malformed_json');
  // The text parsed, so a scan that tracks only strings and nesting finds the element boundaries.
  const elements: { raw: string; value: unknown }[] = [];
  let depth = 0;
  let start = -1;
  for (let i = text.indexOf('[') + 1; i < text.length; i++) {
    const c = text[i];
    if (depth === 0 && (c === ',' || c === ']')) {
      elements.push({ raw: text.slice(start, i).trim(), value: values[elements.length] });
      if (c === ']') break;
      start = -1;
      continue;
    }
    if (start === -1 && c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') start = i;
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
    }
  }
  // An empty array "[]" yields one empty slice above; it has no elements.
  return values.length === 0 ? [] : elements;
}

/** Parses a JSON request body; a BadRequestError saying where it is malformed if it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`the body is not valid JSON: ${(error as Error).message}`, 'malformed_json');
  }
}
