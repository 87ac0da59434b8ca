/**
 * The restores and loads this process is running, by database and table: a load must not start
 * on a table that is being replaced, nor a second restore of it, nor a restore under a load. The
 * runs table says the same across instances, but a live load's heartbeat can age while it waits
 * for the write lock: here nothing ages. (Across instances on Azure SQL, the write lock makes a
 * load that starts during a restore wait for its commit instead.)
 */
import type { Database } from '../db';
import { ConflictError } from '../errors';
import { foreignKeys, type TableDef, type TableName } from '../tables';

const restoring = new WeakMap<Database, Set<TableName>>();
const loading = new WeakMap<Database, Map<string, TableName>>();

/** Marks the tables as being restored until the returned function is called; 409 if one already is. */
export function claimRestore(db: Database, tables: readonly TableDef[]): () => void {
  const active = restoring.get(db) ?? new Set<TableName>();
  restoring.set(db, active);
  const busy = tables.filter((t) => active.has(t.name));
  if (busy.length) {
    throw new ConflictError(
      `${busy.map((t) => t.name).join(', ')} ${busy.length > 1 ? 'are' : 'is'} being restored; try again when that restore has ended`,
      'restore_running',
    );
  }
  for (const table of tables) active.add(table.name);
  return () => {
    for (const table of tables) active.delete(table.name);
  };
}

/**
 * Marks a load of `table` as running until the returned function is called; 409 if `table`, or a
 * table it references, is being restored: the load would mix old and new rows.
 */
export function claimLoad(db: Database, table: TableDef, runId: string): () => void {
  const active = restoring.get(db);
  const busy = [table, ...foreignKeys(table).map((fk) => fk.target)].filter((t) => active?.has(t.name));
  if (busy.length) {
    throw new ConflictError(`${busy[0].name} is being restored: load ${table.name} when that restore has ended`, 'restore_running', {
      table: busy[0].name,
    });
  }
  const loads = loading.get(db) ?? new Map<string, TableName>();
  loading.set(db, loads);
  loads.set(runId, table.name);
  return () => loads.delete(runId);
}

/** A load this process is running on one of `tables`: its run id and table. */
export function loadRunning(db: Database, tables: readonly TableDef[]): { runId: string; table: TableName } | undefined {
  for (const [runId, table] of loading.get(db) ?? []) if (tables.some((t) => t.name === table)) return { runId, table };
  return undefined;
}
