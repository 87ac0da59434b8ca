/**
 * A read transaction on a connection of its own: WAL keeps its view of the database fixed at its
 * first read, however long it is read and whatever is committed meanwhile.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Row, TableDef } from '../../tables';
import { openConnection } from './connection';
import { quote } from './ddl';
import { StoreStatements } from '../statements';
import { SQLITE_SYNTAX } from './statements';

const STATEMENTS = new StoreStatements(SQLITE_SYNTAX);

export class SnapshotReader {
  private readonly connection: BetterSqlite3.Database;
  private readonly pageStatement: BetterSqlite3.Statement;
  private readonly skipStatement: BetterSqlite3.Statement;

  constructor(file: string, table: TableDef) {
    this.connection = openConnection(file, true);
    // Each page is read once, in order: a cache beyond the b-tree's upper levels would only hold
    // memory (better-sqlite3's default cache is 16 MB).
    this.connection.pragma('cache_size = -1024');
    // A page as one JSON text, made by SQLite in C: JSON.parse builds its rows faster than
    // better-sqlite3 builds them value by value. The table's values are integers and text, which
    // JSON carries exactly.
    const values = table.columns.map((c) => quote(c.name)).join(', ');
    this.pageStatement = this.connection
      .prepare(`SELECT json_group_array(json_array(${values})) FROM (${STATEMENTS.listRows(table)})`)
      .pluck();
    this.skipStatement = this.connection.prepare(`SELECT id FROM ${quote(table.name)} WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?`).pluck();
  }

  /** Begins the transaction and reads, which fixes the view: from here on nothing committed is seen. */
  begin(): void {
    this.connection.exec('BEGIN');
    this.skipStatement.get(0, 0);
  }

  /** Up to `limit` rows with ids greater than `afterId`, in id order. */
  page(afterId: number, limit: number): Row[] {
    const rows = JSON.parse(this.pageStatement.get({ afterId, limit }) as string) as Row[];
    // The aggregate takes the rows as the ordered subquery yields them; a page out of order would make a backup no restore accepts.
    for (let i = 1; i < rows.length; i++)
      if ((rows[i][0] as number) <= (rows[i - 1][0] as number)) throw new Error('a snapshot page is not in id order');
    return rows;
  }

  /** The id of the `count`th row after `afterId`, or undefined if fewer rows follow; the rows are not read into JS. */
  skip(afterId: number, count: number): number | undefined {
    return this.skipStatement.get(afterId, count - 1) as number | undefined;
  }

  close(): void {
    this.connection.close(); // ends the read transaction
  }
}
