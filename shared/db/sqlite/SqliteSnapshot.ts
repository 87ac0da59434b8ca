/**
 * Tables read as of one instant, each on two threads at once: this one and the writer thread,
 * which is idle unless a write is under way. A table is cut into segments of SEGMENT_ROWS rows;
 * this thread reads the even ones, the writer thread the odd ones (SnapshotSegments), each
 * skipping the other's in SQLite without reading them into JS. Every read transaction, on both
 * threads and for every table, begins while the write lock is held, so that no commit falls
 * between them: they all see the same instant. The writer thread works on its next segment while
 * this thread reads its own.
 */
import { setImmediate } from 'node:timers/promises';
import type { EngineSnapshot } from '../Engine';
import type { Row, TableDef, TableName } from '../../tables';
import { recordEncoder, type RecordPage } from '../../avro/recordEncoder';
import { SnapshotReader } from './SnapshotReader';
import type { WriterThread } from './WriterThread';

/**
 * Rows each thread reads at a time. Each page blocks the event loop while it is read: small pages
 * let the caller's other work (a backup's compression and upload, other requests) go on between
 * them, and keep fewer rows alive at once.
 */
const SNAPSHOT_PAGE_ROWS = 1_000;
/**
 * Rows in each segment: enough that a segment's message costs little next to its reading, few
 * enough that a segment's records are a small part of the memory budget.
 */
const SEGMENT_ROWS = 20_000;

interface OpenTable {
  readonly reader: SnapshotReader;
  /** The writer thread's half, by its id there. */
  readonly segments: number;
}

export class SqliteSnapshot implements EngineSnapshot {
  private constructor(
    private readonly writer: WriterThread,
    private readonly tables: Map<TableName, OpenTable>,
  ) {}

  /** Begins the reads of every table; the caller holds the write lock meanwhile. */
  static async begin(file: string, writer: WriterThread, tables: readonly TableDef[]): Promise<SqliteSnapshot> {
    const snapshot = new SqliteSnapshot(writer, new Map());
    try {
      for (const table of tables) {
        const reader = new SnapshotReader(file, table);
        try {
          reader.begin();
          snapshot.tables.set(table.name, { reader, segments: await writer.call('openSnapshot', table.name, SEGMENT_ROWS) });
        } catch (error) {
          reader.close();
          throw error;
        }
      }
    } catch (error) {
      await snapshot.close();
      throw error;
    }
    return snapshot;
  }

  /** The rows on this thread alone, page by page. */
  async *rows(table: TableDef): AsyncGenerator<Row[]> {
    const { reader } = this.opened(table);
    for (let afterId = 0; ;) {
      const rows = reader.page(afterId, SNAPSHOT_PAGE_ROWS);
      if (rows.length === 0) break;
      afterId = rows[rows.length - 1][0] as number;
      await setImmediate(); // as in records()
      yield rows;
    }
  }

  async *records(table: TableDef): AsyncGenerator<RecordPage> {
    const { reader, segments } = this.opened(table);
    const next = () => {
      const segment = this.writer.call('snapshotSegment', segments);
      segment.catch(() => undefined); // awaited in turn; not unhandled if the consumer stops first
      return segment;
    };
    let theirs = next();
    try {
      const encode = recordEncoder(table);
      // The id this thread's next segment starts after; undefined once the table has no more for it.
      for (let afterId: number | undefined = 0; ;) {
        let read = 0;
        while (afterId !== undefined && read < SEGMENT_ROWS) {
          const rows = reader.page(afterId, Math.min(SNAPSHOT_PAGE_ROWS, SEGMENT_ROWS - read));
          if (rows.length === 0) break;
          read += rows.length;
          afterId = rows[rows.length - 1][0] as number;
          // A turn of the event loop: reading is synchronous, and a consumer that never waits on
          // I/O (a backup, until its upload is behind) would otherwise hold it for the whole table.
          await setImmediate();
          yield encode(rows);
        }
        const segment: RecordPage = await theirs;
        if (segment.rows === 0) break; // the end of the table: the writer thread's segment would follow this one
        theirs = next();
        yield segment;
        afterId = afterId !== undefined && read === SEGMENT_ROWS ? reader.skip(afterId, SEGMENT_ROWS) : undefined;
      }
    } finally {
      await theirs.catch(() => undefined);
    }
  }

  private opened(table: TableDef): OpenTable {
    const open = this.tables.get(table.name);
    if (!open) throw new Error(`${table.name} is not part of this snapshot`);
    return open;
  }

  async close(): Promise<void> {
    for (const { reader, segments } of this.tables.values()) {
      reader.close();
      await this.writer.call('closeSnapshot', segments).catch(() => undefined); // only fails if the thread has, which every write then reports
    }
    this.tables.clear();
  }
}
