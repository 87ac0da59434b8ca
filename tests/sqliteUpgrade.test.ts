/**
 * A database file written by an earlier version, with datetimes stored as ISO 8601 text, is
 * upgraded in place when the service opens it: every value kept to the millisecond, the indexes
 * and foreign keys back, the metrics reading it as before.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../shared/db/sqlite/SqliteDatabase';
import { schemaStatements } from '../shared/db/sqlite/ddl';
import { getTable } from '../shared/tables';
import { removeDir, tempDir } from './helpers/localHost';

const employees = getTable('hired_employees');
/** Canonical text as earlier versions stored it: the extremes the rules accept, a quarter's last millisecond, before 1970. */
const HIRED: [number, string, string, number, number][] = [
  [1, 'First', '0001-01-01T00:00:00.000Z', 1, 1],
  [2, 'Last', '9999-12-31T23:59:59.999Z', 1, 2],
  [3, 'Quarter end', '2021-03-31T23:59:59.999Z', 2, 1],
  [4, 'Quarter start', '2021-04-01T00:00:00.000Z', 2, 2],
  [5, 'Before the epoch', '1969-12-31T23:59:59.999Z', 1, 1],
];

let dir: string;
let file: string;

beforeEach(() => {
  dir = tempDir('sqlite-upgrade-');
  file = path.join(dir, 'service.sqlite');
  const old = new BetterSqlite3(file);
  old.pragma('journal_mode = WAL');
  for (const sql of schemaStatements()) old.exec(sql.replace('"datetime" INTEGER', '"datetime" TEXT'));
  old.exec(`INSERT INTO departments VALUES (1, 'Support'), (2, 'Engineering'); INSERT INTO jobs VALUES (1, 'Analyst'), (2, 'Manager')`);
  const insert = old.prepare('INSERT INTO hired_employees VALUES (?, ?, ?, ?, ?)');
  for (const row of HIRED) insert.run(row);
  expect(columnType(old, 'datetime')).toBe('TEXT'); // the fixture really is the old format
  old.close();
});

afterEach(() => removeDir(dir));

function columnType(connection: BetterSqlite3.Database, column: string): string | undefined {
  return (connection.pragma('table_info(hired_employees)') as { name: string; type: string }[]).find((c) => c.name === column)?.type;
}

describe('upgrading a file with datetimes stored as text', () => {
  it('converts every datetime exactly and restores the indexes and foreign keys', async () => {
    const db = new SqliteDatabase(file);
    await db.migrate();
    try {
      expect(await db.listRows(employees, 0, 100)).toEqual(
        HIRED.map(([id, name, text, department, job]) => [id, name, Date.parse(text), department, job]),
      );
      expect(await db.hiresByQuarter(2021)).toEqual([
        { department: 'Engineering', job: 'Analyst', Q1: 1, Q2: 0, Q3: 0, Q4: 0 },
        { department: 'Engineering', job: 'Manager', Q1: 0, Q2: 1, Q3: 0, Q4: 0 },
      ]);
    } finally {
      await db.close();
    }
    const upgraded = new BetterSqlite3(file, { readonly: true });
    try {
      expect(columnType(upgraded, 'datetime')).toBe('INTEGER');
      const indexes = (upgraded.pragma('index_list(hired_employees)') as { name: string }[]).map((i) => i.name);
      expect(indexes).toEqual(expect.arrayContaining(employees.indexes.map((i) => i.name)));
      const keys = (upgraded.pragma('foreign_key_list(hired_employees)') as { table: string; from: string }[]).map(
        (k) => `${k.from}->${k.table}`,
      );
      expect(keys.sort()).toEqual(['department_id->departments', 'job_id->jobs']);
      expect(upgraded.prepare("SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE '%upgraded%'").pluck().get()).toBe(0);
    } finally {
      upgraded.close();
    }
  });

  it('is done once: opening the upgraded file again leaves the table as it is', async () => {
    const rootPages: number[] = [];
    for (let i = 0; i < 2; i++) {
      const db = new SqliteDatabase(file);
      await db.migrate();
      expect(await db.listRows(employees, 0, 100)).toHaveLength(HIRED.length);
      await db.close();
      const connection = new BetterSqlite3(file, { readonly: true });
      rootPages.push(connection.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'hired_employees'").pluck().get() as number);
      connection.close();
    }
    expect(rootPages[1]).toBe(rootPages[0]); // a rebuilt table would have a new b-tree
  });
});

describe('a runs table from before restores were audited', () => {
  it('gains the idempotency_key and detail columns, keeping its runs', async () => {
    const oldDir = tempDir('sqlite-runs-');
    const oldFile = path.join(oldDir, 'service.sqlite');
    try {
      const old = new BetterSqlite3(oldFile);
      old.exec(`CREATE TABLE runs (
        id TEXT NOT NULL PRIMARY KEY, table_name TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
        dry_run INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL,
        finished_at TEXT, received INTEGER NOT NULL, inserted INTEGER NOT NULL, skipped INTEGER NOT NULL,
        rejected INTEGER NOT NULL, error TEXT) STRICT`);
      old.exec(
        `INSERT INTO runs VALUES ('r1', 'jobs', 'load', 'csv', 0, 'succeeded', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', NULL, 1, 1, 0, 0, NULL)`,
      );
      old.close();
      const db = new SqliteDatabase(oldFile);
      await db.migrate();
      try {
        expect(await db.getRun('r1')).toMatchObject({ id: 'r1', idempotencyKey: null, detail: null });
        const run = { ...(await db.getRun('r1'))!, id: 'r2', kind: 'restore' as const, idempotencyKey: 'k', detail: { who: 'test' } };
        await db.write((tx) => tx.saveRun(run));
        expect(await db.listRuns({ idempotencyKey: 'k', limit: 5 })).toMatchObject([{ id: 'r2', detail: { who: 'test' } }]);
      } finally {
        await db.close();
      }
    } finally {
      removeDir(oldDir);
    }
  });
});
