/** The store's values to and from SQLite's: booleans are stored as 0 and 1, everything else as it is. */
import type { StoredColumn } from '../../tables';
import type { Params, StoredValue } from '../Engine';

export type Bindings = Record<string, number | string | null>;

export function bindings(params: Params): Bindings {
  const bound: Bindings = {};
  for (const [name, { value }] of Object.entries(params)) bound[name] = typeof value === 'boolean' ? Number(value) : value;
  return bound;
}

/** Stored rows in the store's form; the rows are converted in place. */
export function fromStored(columns: readonly StoredColumn[], rows: StoredValue[][]): StoredValue[][] {
  const booleans = columns.flatMap((c, i) => (c.type === 'boolean' ? [i] : []));
  if (booleans.length) for (const row of rows) for (const i of booleans) row[i] = row[i] === null ? null : row[i] === 1;
  return rows;
}
