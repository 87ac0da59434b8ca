/**
 * Whether the service's dependencies answer, probed at most once per CACHE_MS: a load balancer
 * polling every second must not wake a paused serverless database each time.
 */
import { getServices } from './services';

const CACHE_MS = 5_000;

export interface Probe {
  readonly ok: boolean;
  readonly error?: string;
}

export interface Health {
  readonly ok: boolean;
  readonly database: Probe;
  readonly storage: Probe;
}

let cached: { at: number; health: Promise<Health> } | undefined;

export function checkHealth(): Promise<Health> {
  if (!cached || Date.now() - cached.at > CACHE_MS) cached = { at: Date.now(), health: probeAll() };
  return cached.health;
}

async function probeAll(): Promise<Health> {
  const database = await probe(async () => (await getServices()).db.ping());
  const storage = await probe(async () => {
    const { storage } = await getServices();
    if (!storage) throw new Error('no storage connection is configured');
    await storage.ping();
  });
  return { ok: database.ok && storage.ok, database, storage };
}

async function probe(check: () => Promise<void>): Promise<Probe> {
  try {
    await check();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
