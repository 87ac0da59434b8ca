/**
 * Every statement the store sends, written once over an engine's SQL syntax. Parameters are
 * `@name`; identifiers come from the table definitions and are quoted by the engine.
 */
import type { StoredColumn, StoredTable, TableDef } from '../tables';
import { REJECTED_ROWS, RUNS } from './auditTables';
import type { SqlSyntax } from './Engine';

/** Which optional conditions of a runs listing are present. */
export interface RunConditions {
  readonly table: boolean;
  readonly kind: boolean;
  readonly status: boolean;
  readonly idempotencyKey: boolean;
  readonly after: boolean;
}

/** Which optional conditions of a rejections listing are present; `openIn` the table whose open rejections are listed. */
export interface RejectionConditions {
  readonly table: boolean;
  readonly runId: boolean;
  readonly openIn?: TableDef;
}

/** The columns of a rejection as it is listed: its text's hash and row id only decide whether it is open. */
export const LISTED_REJECTION_COLUMNS: readonly StoredColumn[] = REJECTED_ROWS.columns.filter(
  (c) => c.name !== 'raw_sha256' && c.name !== 'row_id',
);

/** What a run is from its start: never updated. */
const IMMUTABLE_RUN_COLUMNS = new Set([
  'id',
  'table_name',
  'kind',
  'source',
  'dry_run',
  'started_at',
  'idempotency_key',
  'blob_etag',
  'bytes_total',
]);

export class StoreStatements {
  constructor(private readonly sql: SqlSyntax) {}

  countRows(table: StoredTable): string {
    return `SELECT COUNT(*) AS n FROM ${this.sql.table(table.name)}`;
  }

  listRows(table: TableDef): string {
    return this.sql.selectLimited(
      this.columns(table.columns),
      `FROM ${this.sql.table(table.name)} WHERE id > @afterId ORDER BY id`,
      'limit',
    );
  }

  /** The highest id of `table` (or of the scratch table `target`), null when it is empty. */
  maxId(table: TableDef, target: string = table.name): string {
    return `SELECT MAX(id) AS id FROM ${this.sql.table(target)}`;
  }

  /** Rows of `table` (or of the scratch table `target`) whose id is in the JSON array @ids. */
  findRows(table: TableDef, target: string = table.name): string {
    return `SELECT ${this.columns(table.columns)} FROM ${this.sql.table(target)} WHERE id IN (${this.sql.idsOf('@ids')})`;
  }

  existingIds(table: TableDef): string {
    return `SELECT id FROM ${this.sql.table(table.name)} WHERE id IN (${this.sql.idsOf('@ids')})`;
  }

  /** Up to @limit values of `child.column` with no row in `parent`, with how many rows hold each; distinct values are looked up, not rows. */
  orphanIds(child: TableDef, column: string, parent: TableDef): string {
    const value = this.sql.column(column);
    const childTable = this.sql.table(child.name);
    return this.sql.selectLimited(
      `v, (SELECT COUNT(*) FROM ${childTable} c WHERE c.${value} = d.v) AS row_count`,
      `FROM (SELECT DISTINCT ${value} AS v FROM ${childTable}) d WHERE NOT EXISTS (SELECT 1 FROM ${this.sql.table(parent.name)} p WHERE p.id = d.v) ORDER BY v`,
      'limit',
    );
  }

  /** How many rows of `child` hold a value of `column` with no row in `parent`. */
  orphanRows(child: TableDef, column: string, parent: TableDef): string {
    return `SELECT COUNT(*) AS n ${this.orphansOf(child, column, parent)}`;
  }

  getRun(): string {
    return `SELECT ${this.columns(RUNS.columns)} FROM ${this.sql.table(RUNS.name)} WHERE id = @id`;
  }

  /** Newest first, by start time, ties by id; `after` continues a listing (keyset paging). */
  listRuns(present: RunConditions): string {
    const where = ['1 = 1'];
    if (present.table) where.push('table_name = @table_name');
    if (present.kind) where.push('kind = @kind');
    if (present.status) where.push('status = @status');
    if (present.idempotencyKey) where.push('idempotency_key = @idempotency_key');
    if (present.after) where.push('(started_at < @after_started_at OR (started_at = @after_started_at AND id > @after_id))');
    return this.sql.selectLimited(
      this.columns(RUNS.columns),
      `FROM ${this.sql.table(RUNS.name)} WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id`,
      'limit',
    );
  }

  /** What changes during a run; a run is written under the write lock, so an update that finds no row is followed by the insert. */
  updateRun(): string {
    const changing = RUNS.columns.filter((c) => !IMMUTABLE_RUN_COLUMNS.has(c.name)).map((c) => c.name);
    return `UPDATE ${this.sql.table(RUNS.name)} SET ${changing.map((c) => `${this.sql.column(c)} = @${c}`).join(', ')} WHERE id = @id`;
  }

  /** Sent with updateRun: of the two, whichever applies saves the run, so a run new or not is saved in one round trip. */
  insertRunIfMissing(): string {
    const names = RUNS.columns.map((c) => c.name);
    const runs = this.sql.table(RUNS.name);
    return `INSERT INTO ${runs} (${names.map((n) => this.sql.column(n)).join(', ')}) SELECT ${names.map((n) => `@${n}`).join(', ')} WHERE NOT EXISTS (SELECT 1 FROM ${runs} WHERE id = @id)`;
  }

  /** With `openIn`: the newest rejection of each distinct row text of that table, unless its id has since been inserted. */
  listRejections(present: RejectionConditions): string {
    const rejections = this.sql.table(REJECTED_ROWS.name);
    const where = ['r.id > @after_id'];
    if (present.table) where.push('r.table_name = @table_name');
    if (present.runId) where.push('r.run_id = @run_id');
    if (present.openIn) {
      where.push(
        'r.raw_sha256 IS NOT NULL',
        `NOT EXISTS (SELECT 1 FROM ${rejections} l WHERE l.table_name = r.table_name AND l.raw_sha256 = r.raw_sha256 AND l.id > r.id)`,
        `(r.row_id IS NULL OR NOT EXISTS (SELECT 1 FROM ${this.sql.table(present.openIn.name)} t WHERE t.id = r.row_id))`,
      );
    }
    return this.sql.selectLimited(
      this.columns(LISTED_REJECTION_COLUMNS),
      `FROM ${rejections} r WHERE ${where.join(' AND ')} ORDER BY r.id`,
      'limit',
    );
  }

  private orphansOf(child: TableDef, column: string, parent: TableDef): string {
    return `FROM ${this.sql.table(child.name)} c WHERE NOT EXISTS (SELECT 1 FROM ${this.sql.table(parent.name)} p WHERE p.id = c.${this.sql.column(column)})`;
  }

  private columns(columns: readonly StoredColumn[]): string {
    return columns.map((c) => this.sql.column(c.name)).join(', ');
  }
}
