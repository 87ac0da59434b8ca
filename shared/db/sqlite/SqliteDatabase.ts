/**
 * The embedded default: SQLite through better-sqlite3, in WAL mode so that readers see only
 * committed data while a writer works. Writes run on a writer thread, one transaction at a time
 * (queued by a SerialQueue); reads run here on a read connection.
 */
import { setImmediate } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database, RejectionFilter, RejectionRecord, RunFilter, RunRecord, Snapshot, WriteTransaction } from '../Database';
import type { Reason } from '../../rules';
import type { Row, TableDef } from '../../tables';
import { yearBounds, type DepartmentHiresRow, type HiresByQuarterRow } from '../../metrics';
import { openConnection } from './connection';
import { SnapshotReader } from './SnapshotReader';
import { SNAPSHOT_PAGE_ROWS, SqliteSnapshot } from './SqliteSnapshot';
import { pageQuery, quote } from './ddl';
import { SerialQueue } from '../SerialQueue';
import { WriterThread } from './WriterThread';

const INSERT_MESSAGE_ROWS = 1_000;
const MAX_QUEUED_INSERTS = 10;

export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  readonly capabilities = { bulkInsertChecksForeignKeys: true };
  private readonly writer: WriterThread;
  private reader: BetterSqlite3.Database | undefined;
  private readonly lock = new SerialQueue();

  constructor(readonly file: string) {
    this.writer = new WriterThread(file);
  }

  async migrate(): Promise<void> {
    await this.lock.run(() => this.writer.call('migrate'));
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      const state: TransactionState = { begun: undefined, inserts: [] };
      try {
        const result = await work(this.transaction(state));
        await Promise.all(state.inserts);
        if (state.begun) await this.writer.call('commit');
        return result;
      } catch (error) {
        await Promise.allSettled(state.inserts);
        if (state.begun) await this.writer.call('rollback').catch(() => undefined); // the original error is the one to report
        throw error;
      }
    });
  }

  createScratch(table: TableDef): Promise<string> {
    return this.lock.run(() => this.writer.call('createScratch', table.name));
  }

  async dropScratch(name: string): Promise<void> {
    await this.lock.run(() => this.writer.call('dropScratch', name));
  }

  async countRows(table: TableDef): Promise<number> {
    return (
      this.read()
        .prepare(`SELECT COUNT(*) AS n FROM ${quote(table.name)}`)
        .get() as { n: number }
    ).n;
  }

  async *snapshot(table: TableDef): AsyncGenerator<Row[]> {
    const reader = new SnapshotReader(this.file, table);
    try {
      reader.begin();
      for (let afterId = 0; ;) {
        const rows = reader.page(afterId, SNAPSHOT_PAGE_ROWS);
        if (rows.length === 0) break;
        afterId = rows[rows.length - 1][0] as number;
        await setImmediate(); // as in SqliteSnapshot.records
        yield rows;
      }
    } finally {
      reader.close();
    }
  }

  async openSnapshot(tables: readonly TableDef[]): Promise<Snapshot> {
    return this.lock.run(() => SqliteSnapshot.begin(this.file, this.writer, tables));
  }

  async listRows(table: TableDef, afterId: number, limit: number): Promise<Row[]> {
    return this.read().prepare(pageQuery(table)).raw().all(afterId, limit) as Row[];
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.read().prepare('SELECT * FROM runs WHERE id = ?').get(id) as StoredRun | undefined;
    return row && runFromStored(row);
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    const where = ['1 = 1'];
    if (filter.table) where.push('table_name = @table');
    if (filter.kind) where.push('kind = @kind');
    if (filter.status) where.push('status = @status');
    if (filter.idempotencyKey) where.push('idempotency_key = @idempotencyKey');
    if (filter.after) where.push('(started_at < @afterStartedAt OR (started_at = @afterStartedAt AND id > @afterId))');
    const rows = this.read()
      .prepare(`SELECT * FROM runs WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id LIMIT @limit`)
      .all({
        table: filter.table ?? null,
        kind: filter.kind ?? null,
        status: filter.status ?? null,
        idempotencyKey: filter.idempotencyKey ?? null,
        afterStartedAt: filter.after?.startedAt ?? null,
        afterId: filter.after?.id ?? null,
        limit: filter.limit,
      }) as StoredRun[];
    return rows.map(runFromStored);
  }

  async listRejections(filter: RejectionFilter): Promise<RejectionRecord[]> {
    const where = ['r.id > @afterId'];
    if (filter.table) where.push('r.table_name = @table');
    if (filter.runId) where.push('r.run_id = @runId');
    if (filter.open && filter.table) {
      where.push(
        // Rejections stored before their text was hashed are in the history only.
        'r.raw_sha256 IS NOT NULL',
        'NOT EXISTS (SELECT 1 FROM rejected_rows l WHERE l.table_name = r.table_name AND l.raw_sha256 = r.raw_sha256 AND l.id > r.id)',
        `(r.row_id IS NULL OR NOT EXISTS (SELECT 1 FROM ${quote(filter.table)} t WHERE t.id = r.row_id))`,
      );
    }
    const rows = this.read()
      .prepare(`SELECT r.* FROM rejected_rows r WHERE ${where.join(' AND ')} ORDER BY r.id LIMIT @limit`)
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

  /*
   * The metrics read the covering index ix_hired_employees_datetime (datetime, department_id,
   * job_id) over the year's range, count in SQL, and join the names onto the counts (one lookup
   * per group, not per hire). Datetimes are UTC epoch milliseconds, so the year and quarter are
   * those of the UTC instant.
   *
   * Order: `COLLATE NOCASE` first, as Azure SQL's default case-insensitive collation orders
   * ("General Manager" before "GIS Technical Architect"), then the exact text (BINARY) for names
   * differing only in case. NOCASE folds ASCII letters only: names with non-ASCII letters or
   * accents may order differently from Azure SQL's linguistic collation.
   */

  async hiresByQuarter(year: number): Promise<HiresByQuarterRow[]> {
    // One group per (department_id, job_id), keyed by a single integer (ids < 2^31, so the key
    // < 2^62): the GROUP BY sorter then compares one integer instead of two columns, which is
    // measurably faster over a year of a 2-million-row table. The quarters are counted as
    // cumulative sums (hires before Q2, Q3, Q4 start), differenced after grouping.
    return this.read()
      .prepare(
        `WITH counts AS (
           SELECT department_id * 2147483648 + job_id AS pair,
                  SUM(datetime < @q2) AS before_q2, SUM(datetime < @q3) AS before_q3, SUM(datetime < @q4) AS before_q4,
                  COUNT(*) AS hired
           FROM hired_employees
           WHERE datetime BETWEEN @first AND @last
           GROUP BY pair)
         SELECT d.department AS department, j.job AS job,
                c.before_q2 AS Q1, c.before_q3 - c.before_q2 AS Q2, c.before_q4 - c.before_q3 AS Q3, c.hired - c.before_q4 AS Q4
         FROM counts c
         JOIN departments d ON d.id = c.pair >> 31
         JOIN jobs j ON j.id = c.pair & 2147483647
         ORDER BY d.department COLLATE NOCASE, d.department, j.job COLLATE NOCASE, j.job, d.id, j.id`,
      )
      .all(yearBounds(year)) as HiresByQuarterRow[];
  }

  async departmentsAboveMean(year: number): Promise<DepartmentHiresRow[]> {
    // mean = total hires / number of departments (those without hires count as 0); compared
    // exactly in integers as hired * departments > total, no division.
    const { first, last } = yearBounds(year);
    return this.read()
      .prepare(
        `WITH counts AS (
           SELECT department_id, COUNT(*) AS hired
           FROM hired_employees
           WHERE datetime BETWEEN @first AND @last
           GROUP BY department_id),
         totals AS (
           SELECT (SELECT COUNT(*) FROM departments) AS departments, (SELECT COALESCE(SUM(hired), 0) FROM counts) AS hires)
         SELECT d.id AS id, d.department AS department, c.hired AS hired
         FROM counts c
         JOIN departments d ON d.id = c.department_id
         CROSS JOIN totals t
         WHERE c.hired * t.departments > t.hires
         ORDER BY c.hired DESC, d.id`,
      )
      .all({ first, last }) as DepartmentHiresRow[];
  }

  async ping(): Promise<void> {
    this.read().prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.lock.run(async () => {
      this.reader?.close();
      await this.writer.call('close');
    });
  }

  /** Opened on first use, after migrate() has created the file's schema. */
  private read(): BetterSqlite3.Database {
    if (!this.reader) {
      this.reader = openConnection(this.file, true);
      // SQLite's default 2 MB page cache (better-sqlite3 builds with 16 MB). The cache size also
      // bounds the GROUP BY sorter's in-memory runs: with 16 MB, the metrics' sorts over a year of
      // 2 million hires take 2–2.5x as long as with 2 MB. This connection only reads, and WAL
      // invalidates its cache at every commit of the writer anyway.
      this.reader.pragma('cache_size = -2000');
    }
    return this.reader;
  }

  /**
   * A transaction's operations. Inserts are queued on the writer thread without waiting: see
   * WriteTransaction. The transaction begins with its first operation, so that a restore's
   * clearTables can begin it in its own way (see WriteConnection.beginClearing).
   */
  private transaction(state: TransactionState): WriteTransaction {
    const begin = () => (state.begun ??= this.writer.call('begin'));
    return {
      findRows: async (table, ids, scratch) => {
        await begin();
        const found = new Map<number, Row>();
        for (const row of await this.writer.call('findRows', table.name, ids, scratch)) found.set(row[0] as number, row);
        return found;
      },
      existingIds: async (table, ids) => {
        await begin();
        return new Set(await this.writer.call('existingIds', table.name, ids));
      },
      insertRows: async (table, rows, scratch) => {
        await begin();
        const { inserts } = state;
        // Sent in small messages, so the writer thread starts on the first while the rest are
        // prepared. At most MAX_QUEUED_INSERTS wait on it: enough to keep it busy, and a caller that
        // produces rows faster than they are written (a restore) waits instead of queueing them all.
        for (let start = 0; start < rows.length; start += INSERT_MESSAGE_ROWS) {
          if (inserts.length >= MAX_QUEUED_INSERTS) await inserts[inserts.length - MAX_QUEUED_INSERTS];
          const insert = this.writer.call('insertRows', table.name, rows.slice(start, start + INSERT_MESSAGE_ROWS), scratch);
          insert.catch(() => undefined); // awaited, and reported, when the transaction ends
          inserts.push(insert);
        }
      },
      insertRejections: async (rejections) => {
        await begin();
        await this.writer.call('insertRejections', rejections);
      },
      openSnapshot: (tables) => SqliteSnapshot.begin(this.file, this.writer, tables), // the lock is this transaction's
      clearTables: async (tables) => {
        if (state.begun) throw new Error('clearTables must be the first write of its transaction');
        await (state.begun = this.writer.call(
          'beginClearing',
          tables.map((t) => t.name),
        ));
      },
      orphans: async (child, column, parent, limit) => {
        await begin();
        return this.writer.call('orphans', child.name, column, parent.name, limit);
      },
      saveRun: async (run) => {
        await begin();
        await this.writer.call('saveRun', run);
      },
      othersWaiting: () => this.lock.hasWaiting(),
    };
  }
}

/** A write transaction in progress: its BEGIN once sent, and its inserts not yet confirmed. */
interface TransactionState {
  begun: Promise<unknown> | undefined;
  readonly inserts: Promise<unknown>[];
}

interface StoredRun {
  id: string;
  table_name: string;
  kind: string;
  source: string;
  dry_run: number;
  status: string;
  started_at: string;
  heartbeat_at: string;
  finished_at: string | null;
  received: number;
  inserted: number;
  skipped: number;
  rejected: number;
  error: string | null;
  idempotency_key: string | null;
  detail: string | null;
}

interface StoredRejection {
  id: number;
  run_id: string;
  table_name: string;
  position: number;
  raw_text: string;
  format: string;
  reasons: string;
  created_at: string;
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
    idempotencyKey: r.idempotency_key,
    detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  };
}
