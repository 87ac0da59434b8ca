/**
 * Upgrades a database file written by an earlier version of the service, before the schema
 * statements run. Earlier versions stored datetimes as ISO 8601 text; they are now integers (see
 * ddl.ts). SQLite cannot change a column's type in place, so each such table is rebuilt as its
 * documented procedure describes (https://www.sqlite.org/lang_altertable.html#otheralter): a new
 * table, the rows copied and converted, the old table dropped and the new one renamed, in one
 * transaction, with foreign keys checked before it commits. The indexes, dropped with the old
 * tables, are created again by the schema statements that follow.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { TABLES, type TableDef } from '../../tables';
import { columnDefinitions, quote } from './ddl';

/** Rebuilds the tables whose datetime columns hold text; a file already up to date is left as it is. */
export function upgradeTextDatetimes(connection: BetterSqlite3.Database): void {
  const outdated = TABLES.filter((table) => textDatetimeColumns(connection, table).length > 0);
  if (outdated.length === 0) return;
  // Foreign keys can be switched off only outside a transaction; with them on, dropping a table
  // that other tables reference would delete or refuse.
  connection.pragma('foreign_keys = OFF');
  try {
    connection.transaction(() => {
      for (const table of outdated) {
        const textColumns = new Set(textDatetimeColumns(connection, table));
        const upgraded = quote(`${table.name}_upgraded`);
        const values = table.columns.map((c) =>
          // Exact for every stored value: millisecond text, from year 1 to 9999.
          textColumns.has(c.name) ? `CAST(ROUND(unixepoch(${quote(c.name)}, 'subsec') * 1000) AS INTEGER)` : quote(c.name),
        );
        connection.exec(`CREATE TABLE ${upgraded} (${columnDefinitions(table, true)}) STRICT`);
        connection.exec(`INSERT INTO ${upgraded} SELECT ${values.join(', ')} FROM ${quote(table.name)}`);
        connection.exec(`DROP TABLE ${quote(table.name)}`);
        connection.exec(`ALTER TABLE ${upgraded} RENAME TO ${quote(table.name)}`);
      }
      const broken = connection.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) throw new Error(`upgrading the database file found ${broken.length} rows with missing references`);
    })();
  } finally {
    connection.pragma('foreign_keys = ON');
  }
}

function textDatetimeColumns(connection: BetterSqlite3.Database, table: TableDef): string[] {
  const stored = new Map(
    (connection.pragma(`table_info(${quote(table.name)})`) as { name: string; type: string }[]).map((c) => [c.name, c.type]),
  );
  return table.columns.filter((c) => c.type === 'datetime' && stored.get(c.name) === 'TEXT').map((c) => c.name);
}
