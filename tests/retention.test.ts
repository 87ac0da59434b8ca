/**
 * Retention: which backups the service deletes after a timer run (a pure plan, with a fake clock),
 * and the pruning itself against Azurite with backups dated far in the past.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupKind, StoredBackup } from '../shared/backup/BackupStore';
import { BackupStore } from '../shared/backup/BackupStore';
import { pruneBackups, retentionPlan } from '../shared/backup/retention';
import { blobServiceClient } from '../shared/storage/blobService';
import { startAzurite } from './helpers/localHost';
import { container, listBlobNames, uploadBlob } from './helpers/backups';

const NOW = new Date('2026-06-30T12:00:00.000Z');
const POLICY = { retentionDays: 30, keepLast: 3 };

function daysAgo(days: number): Date {
  return new Date(NOW.getTime() - days * 24 * 60 * 60_000);
}

function stamp(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}

/** A set of the three tables (manifest and files), `days` old. */
function set(days: number, kind: BackupKind = 'backup'): StoredBackup[] {
  const at = daysAgo(days);
  const name = stamp(at);
  return [
    { name: `sets/${name}.json`, table: null, kind, set: name, createdAt: at.toISOString() },
    ...['departments', 'jobs', 'hired_employees'].map((t) => ({
      name: `${t}/${t}-${name}.avro`,
      table: t,
      kind,
      set: name,
      createdAt: at.toISOString(),
    })),
  ];
}

function file(table: string, days: number, kind: BackupKind): StoredBackup {
  const at = daysAgo(days);
  return { name: `${table}/${table}-${stamp(at)}.avro`, table, kind, set: null, createdAt: at.toISOString() };
}

describe('retentionPlan', () => {
  it('keeps every set of the last retentionDays, and the newest keepLast whatever their age', () => {
    const stored = [0, 10, 29, 31, 60, 90, 120].flatMap((d) => set(d));
    const deleted = retentionPlan(stored, POLICY, NOW);
    // Within 30 days: 0, 10, 29 (also the newest three); older: 31, 60, 90, 120 go.
    expect(deleted.filter((n) => n.startsWith('sets/'))).toEqual([31, 60, 90, 120].map((d) => `sets/${stamp(daysAgo(d))}.json`));
    expect(deleted).toHaveLength(4 * 4);
    // Manifests first: a set disappears before its files do.
    expect(deleted.slice(0, 4).every((n) => n.startsWith('sets/'))).toBe(true);
  });

  it('when the timer stopped long ago, the newest keepLast sets stay: never the last good copy', () => {
    const stored = [400, 401, 402, 403, 404].flatMap((d) => set(d));
    const deleted = retentionPlan(stored, POLICY, NOW);
    expect(deleted.filter((n) => n.startsWith('sets/'))).toEqual([403, 404].map((d) => `sets/${stamp(daysAgo(d))}.json`));
    expect(retentionPlan(set(999), POLICY, NOW)).toEqual([]);
  });

  it('safety backups older than the retention go, but never the newest one of each table, nor the newest safety set', () => {
    const stored = [
      file('jobs', 100, 'safety'),
      file('jobs', 200, 'safety'),
      file('jobs', 5, 'safety'),
      file('departments', 300, 'safety'),
      file('departments', 400, 'safety'),
      ...set(50, 'safety'),
      ...set(70, 'safety'),
    ];
    const deleted = retentionPlan(stored, POLICY, NOW).sort();
    expect(deleted).toEqual(
      [
        file('jobs', 100, 'safety').name,
        file('jobs', 200, 'safety').name,
        file('departments', 400, 'safety').name,
        ...set(70, 'safety').map((b) => b.name),
      ].sort(),
    );
  });

  it("a table's own backups: the newest keepLast of each table stay, older ones past the retention go", () => {
    const stored = [1, 40, 50, 60, 70].map((d) => file('departments', d, 'backup'));
    expect(retentionPlan(stored, POLICY, NOW)).toEqual([60, 70].map((d) => file('departments', d, 'backup').name));
  });

  it('the files of a set that never got its manifest go once they are past the retention', () => {
    const orphans = set(45).slice(1);
    const recent = set(2).slice(1);
    expect(retentionPlan([...orphans, ...recent], POLICY, NOW).sort()).toEqual(orphans.map((b) => b.name).sort());
  });
});

describe('pruneBackups against Azurite', () => {
  let azurite: Awaited<ReturnType<typeof startAzurite>>;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('deletes exactly what the plan says, from the listing of real blobs and their metadata', async () => {
    const blobs = container(azurite.connectionString, 'prune');
    const all = [0, 10, 31, 60, 90].flatMap((d) => set(d));
    for (const b of all) {
      const metadata: Record<string, string> = { kind: b.kind, createdat: b.createdAt };
      if (b.table) Object.assign(metadata, { table: b.table, rows: '0', sha256: '0'.repeat(64), set: b.set! });
      await uploadBlob(blobs, b.name, Buffer.from('x'), metadata);
    }
    await uploadBlob(blobs, 'unrelated/file.txt', Buffer.from('x'), {});
    const store = new BackupStore(blobServiceClient({ kind: 'connectionString', connectionString: azurite.connectionString }), 'prune');
    const deleted = await pruneBackups(store, POLICY, NOW);
    expect(deleted.sort()).toEqual(
      [60, 90]
        .flatMap((d) => set(d))
        .map((b) => b.name)
        .sort(),
    );
    expect(await listBlobNames(blobs)).toEqual([...[0, 10, 31].flatMap((d) => set(d)).map((b) => b.name), 'unrelated/file.txt'].sort());
    expect(await pruneBackups(store, POLICY, NOW)).toEqual([]);
  });
});
