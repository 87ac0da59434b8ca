/**
 * Which backups the service deletes after each timer run. Never the last good copy: the newest
 * `keepLast` sets are kept whatever their age, and the newest safety backup of each table (and
 * the newest safety set) too; everything else goes once it is older than `retentionDays`. A set's
 * files go with its manifest, never alone.
 */
import type { BackupStore, StoredBackup } from './BackupStore';

export interface RetentionPolicy {
  readonly retentionDays: number;
  readonly keepLast: number;
}

const DAY_MS = 24 * 60 * 60_000;

/** The blob names to delete, manifests before the files of their sets (a set without its manifest is no set). */
export function retentionPlan(stored: readonly StoredBackup[], policy: RetentionPolicy, now: Date): string[] {
  const newestFirst = [...stored].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  const expired = (b: StoredBackup) => now.getTime() - Date.parse(b.createdAt) > policy.retentionDays * DAY_MS;
  const manifests = newestFirst.filter((b) => b.table === null);
  const keptSets = new Set<string>();
  manifests
    .filter((m) => m.kind === 'backup')
    .slice(0, policy.keepLast)
    .forEach((m) => keptSets.add(m.set!));
  const newestSafetySet = manifests.find((m) => m.kind === 'safety');
  if (newestSafetySet) keptSets.add(newestSafetySet.set!);
  for (const m of manifests) if (!expired(m)) keptSets.add(m.set!);
  const doomedSets = new Set(manifests.filter((m) => !keptSets.has(m.set!)).map((m) => m.set!));

  const deleted = manifests.filter((m) => doomedSets.has(m.set!)).map((m) => m.name);
  const seen = new Map<string, number>();
  for (const file of newestFirst) {
    if (file.table === null) continue;
    if (file.set !== null) {
      // A set's files go with it; the files of a set that never got its manifest (its upload failed) once they expire.
      if (doomedSets.has(file.set) || (!manifests.some((m) => m.set === file.set) && expired(file))) deleted.push(file.name);
      continue;
    }
    // A table's own backups: the newest keepLast of each kind are kept (at least one safety backup).
    const key = `${file.table}\0${file.kind}`;
    const rank = (seen.get(key) ?? 0) + 1;
    seen.set(key, rank);
    const keep = rank <= (file.kind === 'safety' ? 1 : policy.keepLast) || !expired(file);
    if (!keep) deleted.push(file.name);
  }
  return deleted;
}

/** Deletes what the policy no longer keeps; returns the names deleted. */
export async function pruneBackups(store: BackupStore, policy: RetentionPolicy, now = new Date()): Promise<string[]> {
  const plan = retentionPlan(await store.listAll(), policy, now);
  for (const name of plan) await store.delete(name);
  return plan;
}
