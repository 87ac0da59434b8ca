/**
 * The restores this process is running, by database and table: a load must not start on a table
 * that is being replaced, nor a second restore of it. (Across instances on Azure SQL, the write
 * lock makes a load that starts during a restore wait for its commit instead.)
 */
import type { Database } from '../db';
import { ConflictError } from '../errors';
import { foreignKeys, type TableDef, type TableName } from '../tables';

const restoring = new WeakMap<Database, Set<TableName>>();

/** Marks the tables as being restored until the returned function is called; 409 if one already is. */
export function claimRestore(db: Database, tables: readonly TableDef[]): () => void {
  const active = restoring.get(db) ?? new Set<TableName>();
  restoring.set(db, active);
  const busy = tables.filter((t) => active.has(t.name));
  if (busy.length) {
    throw new ConflictError(`${busy.map((t) => t.name).join(', ')} ${busy.length > 1 ? 'are' : 'is'} being restored; try again when that restore has ended`, 'restore_running');
  }
  for (const table of tables) active.add(table.name);
  return () => {
    for (const table of tables) active.delete(table.name);
  };
}

/** 409 if `table`, or a table it references, is being restored: a load would mix old and new rows. */
export function refuseDuringRestore(db: Database, table: TableDef): void {
  const active = restoring.get(db);
  const busy = [table, ...foreignKeys(table).map((fk) => fk.target)].filter((t) => active?.has(t.name));
  if (busy.length) {
    throw new ConflictError(`${busy[0].name} is being restored: load ${table.name} when that restore has ended`, 'restore_running', { table: busy[0].name });
  }
}
