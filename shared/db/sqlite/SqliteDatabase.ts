/**
 * The embedded default: SQLite through better-sqlite3, in WAL mode so that readers see only
 * committed data while a writer works. One connection writes (transactions queued by WriteLock),
 * one reads.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Database, NewRejection, RejectionFilter, RejectionRecord, RunRecord, WriteTransaction } from '../Database';
import type { Row, TableDef } from '../../tables';
import type { Reason } from '../../rules';
import { columnDefinitions, quote, schemaStatements } from './ddl';
import { WriteLock } from './WriteLock';

type Connection = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  private readonly writer: Connection;
  private reader: Connection | undefined;
  private readonly lock = new WriteLock();
  private readonly statements = new Map<string, Statement>();
  private scratchCount = 0;

  constructor(readonly file: string) {
    this.writer = open(file, false);
  }

  async migrate(): Promise<void> {
    this.writer.transaction(() => {
      for (const sql of schemaStatements()) this.writer.exec(sql);
    })();
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.transaction);
        this.writer.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async createScratch(table: TableDef): Promise<string> {
    const name = `scratch_${table.name}_${++this.scratchCount}`;
    await this.lock.run(async () => this.writer.exec(`CREATE TEMP TABLE ${quote(name)} (${columnDefinitions(table, false)})`));
    return name;
  }

  async dropScratch(name: string): Promise<void> {
    await this.lock.run(async () => this.writer.exec(`DROP TABLE IF EXISTS temp.${quote(name)}`));
    for (const key of this.statements.keys()) if (key.includes(`\0${name}`)) this.statements.delete(key);
  }

  async countRows(table: TableDef): Promise<number> {
    return (this.read().prepare(`SELECT COUNT(*) AS n FROM ${quote(table.name)}`).get() as { n: number }).n;
  }

  async listRows(table: TableDef, afterId: number, limit: number): Promise<Row[]> {
    const rows = this.read()
      .prepare(`SELECT ${selectList(table)} FROM ${quote(table.name)} WHERE id > ? ORDER BY id LIMIT ?`)
      .raw()
      .all(afterId, limit) as Row[];
    return rows.map((row) => fromStored(table, row));
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.read().prepare('SELECT * FROM runs WHERE id = ?').get(id) as StoredRun | undefined;
    return row && runFromStored(row);
  }

  async listRejections(filter: RejectionFilter): Promise<RejectionRecord[]> {
    const where = ['id > @afterId'];
    if (filter.table) where.push('table_name = @table');
    if (filter.runId) where.push('run_id = @runId');
    const rows = this.read()
      .prepare(`SELECT * FROM rejected_rows WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`)
      .all({ afterId: filter.afterId, limit: filter.limit, table: filter.table ?? null, runId: filter.runId ?? null }) as StoredRejection[];
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      table: r.table_name as RejectionRecord['table'],
      position: r.position,
      rawText: r.raw_text,
      format: r.format as RejectionRecord['format'],
      reasons: JSON.parse(r.reasons) as Reason[],
      createdAt: r.created_at,
    }));
  }

  async ping(): Promise<void> {
    this.read().prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.lock.run(async () => {
      this.reader?.close();
      this.writer.close();
    });
  }

  /** Opened on first use, after migrate() has created the file's schema. */
  private read(): Connection {
    return (this.reader ??= open(this.file, true));
  }

  private prepared(key: string, sql: () => string): Statement {
    let statement = this.statements.get(key);
    if (!statement) this.statements.set(key, (statement = this.writer.prepare(sql())));
    return statement;
  }

  private readonly transaction: WriteTransaction = {
    findRows: async (table, ids, scratch) => {
      const target = scratch ? `temp.${quote(scratch)}` : quote(table.name);
      const statement = this.prepared(`find\0${scratch ?? table.name}`, () =>
        `SELECT ${selectList(table)} FROM ${target} WHERE id IN (SELECT value FROM json_each(?))`,
      );
      const found = new Map<number, Row>();
      for (const row of statement.raw().iterate(JSON.stringify(ids)) as Iterable<Row>) {
        found.set(row[0] as number, fromStored(table, row));
      }
      return found;
    },

    existingIds: async (table, ids) => {
      const statement = this.prepared(`ids\0${table.name}`, () =>
        `SELECT id FROM ${quote(table.name)} WHERE id IN (SELECT value FROM json_each(?))`,
      );
      return new Set(statement.pluck().all(JSON.stringify(ids)) as number[]);
    },

    insertRows: async (table, rows, scratch) => {
      const target = scratch ? `temp.${quote(scratch)}` : quote(table.name);
      const statement = this.prepared(`insert\0${scratch ?? table.name}`, () =>
        `INSERT INTO ${target} (${selectList(table)}) VALUES (${table.columns.map(() => '?').join(', ')})`,
      );
      const datetimes = datetimeIndexes(table);
      for (const row of rows) {
        if (datetimes.length === 0) {
          statement.run(row);
        } else {
          const stored = row.slice();
          for (const i of datetimes) stored[i] = new Date(row[i] as number).toISOString();
          statement.run(stored);
        }
      }
    },

    insertRejections: async (rejections: readonly NewRejection[]) => {
      const statement = this.prepared('insertRejection', () =>
        'INSERT INTO rejected_rows (run_id, table_name, position, raw_text, format, reasons, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      const now = new Date().toISOString();
      for (const r of rejections) statement.run(r.runId, r.table, r.position, r.rawText, r.format, JSON.stringify(r.reasons), now);
    },

    saveRun: async (run) => {
      this.prepared('saveRun', () =>
        `INSERT INTO runs (id, table_name, kind, source, dry_run, status, started_at, heartbeat_at, finished_at,
           received, inserted, skipped, rejected, error)
         VALUES (@id, @table, @kind, @source, @dryRun, @status, @startedAt, @heartbeatAt, @finishedAt,
           @received, @inserted, @skipped, @rejected, @error)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, heartbeat_at = excluded.heartbeat_at,
           finished_at = excluded.finished_at, received = excluded.received, inserted = excluded.inserted,
           skipped = excluded.skipped, rejected = excluded.rejected, error = excluded.error`,
      ).run({ ...run, dryRun: run.dryRun ? 1 : 0 });
    },
  };
}

function open(file: string, readonly: boolean): Connection {
  const connection = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  // WAL: readers never block the writer nor see its uncommitted rows. NORMAL sync keeps every
  // committed transaction through a process crash (only an OS crash may lose the last ones).
  if (!readonly) connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 10000');
  if (process.env.SQLITE_CACHE) connection.pragma('cache_size = ' + process.env.SQLITE_CACHE);
  return connection;
}

function selectList(table: TableDef): string {
  return table.columns.map((c) => quote(c.name)).join(', ');
}

const datetimeIndexCache = new Map<TableDef, number[]>();
function datetimeIndexes(table: TableDef): number[] {
  let indexes = datetimeIndexCache.get(table);
  if (!indexes) {
    indexes = table.columns.flatMap((c, i) => (c.type === 'datetime' ? [i] : []));
    datetimeIndexCache.set(table, indexes);
  }
  return indexes;
}

/** Stored values back to a normalised row: datetimes from ISO text to epoch ms. */
function fromStored(table: TableDef, row: Row): Row {
  for (const i of datetimeIndexes(table)) row[i] = Date.parse(row[i] as string);
  return row;
}

interface StoredRun {
  id: string; table_name: string; kind: string; source: string; dry_run: number; status: string;
  started_at: string; heartbeat_at: string; finished_at: string | null;
  received: number; inserted: number; skipped: number; rejected: number; error: string | null;
}

interface StoredRejection {
  id: number; run_id: string; table_name: string; position: number; raw_text: string; format: string; reasons: string; created_at: string;
}

function runFromStored(r: StoredRun): RunRecord {
  return {
    id: r.id,
    table: r.table_name as RunRecord['table'],
    kind: r.kind as RunRecord['kind'],
    source: r.source,
    dryRun: r.dry_run === 1,
    status: r.status as RunRecord['status'],
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    finishedAt: r.finished_at,
    received: r.received,
    inserted: r.inserted,
    skipped: r.skipped,
    rejected: r.rejected,
    error: r.error,
  };
}
