/**
 * The writer thread's half of a snapshot read on two threads (see SqliteSnapshot):
 * the table is cut into segments of `segmentRows` rows; the main thread reads and encodes the
 * even ones and this thread the odd ones, each skipping the other's without reading them into JS.
 */
import { getTable, type TableName } from '../../tables';
import { recordEncoder, type RecordPage } from '../../avro/recordEncoder';
import { SnapshotReader } from './SnapshotReader';

interface OpenSnapshot {
  readonly reader: SnapshotReader;
  readonly encode: ReturnType<typeof recordEncoder>;
  readonly segmentRows: number;
  /** The id the next segment of the main thread's ends after; undefined at the end of the table. */
  afterId: number | undefined;
}

export class SnapshotSegments {
  private readonly open = new Map<number, OpenSnapshot>();
  private lastId = 0;

  constructor(private readonly file: string) {}

  /** Begins a snapshot; the caller makes sure that nothing commits until the main thread's has begun too. */
  openSnapshot(tableName: TableName, segmentRows: number): number {
    const table = getTable(tableName);
    const reader = new SnapshotReader(this.file, table);
    try {
      reader.begin();
    } catch (error) {
      reader.close();
      throw error;
    }
    const id = ++this.lastId;
    this.open.set(id, { reader, encode: recordEncoder(table), segmentRows, afterId: 0 });
    return id;
  }

  /** The next odd segment, encoded: it starts after the main thread's segment; no rows at the end. */
  snapshotSegment(id: number): RecordPage {
    const snapshot = this.open.get(id);
    if (!snapshot) throw new Error(`no open snapshot ${id}`);
    const { reader, segmentRows } = snapshot;
    const start = snapshot.afterId === undefined ? undefined : reader.skip(snapshot.afterId, segmentRows);
    if (start === undefined) {
      snapshot.afterId = undefined;
      return noRecords();
    }
    const rows = reader.page(start, segmentRows);
    snapshot.afterId = rows.length === segmentRows ? (rows[rows.length - 1][0] as number) : undefined;
    return rows.length > 0 ? snapshot.encode(rows) : noRecords();
  }

  closeSnapshot(id: number): void {
    this.open.get(id)?.reader.close();
    this.open.delete(id);
  }

  closeAll(): void {
    for (const id of [...this.open.keys()]) this.closeSnapshot(id);
  }
}

/** A new empty page each time: a page's buffer is transferred to the main thread, which detaches it here. */
function noRecords(): RecordPage {
  return { bytes: new Uint8Array(0), rows: 0 };
}
