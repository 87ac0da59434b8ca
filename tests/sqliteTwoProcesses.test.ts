/**
 * Two processes over one SQLite file serialise their writes: a store's write transaction waits
 * for another process's to end, then sees what it committed (the contract's two-store case, with
 * the second store in a process of its own).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../shared/db/Store';
import { SqliteEngine } from '../shared/db/sqlite/SqliteEngine';
import { getTable } from '../shared/tables';
import { removeDir, requireDist, ROOT, tempDir } from './helpers/localHost';

const departments = getTable('departments');

/** A process that begins a write, inserts department 1, says "holding", and commits when told "commit". */
const CHILD = `
const { Store } = require(${JSON.stringify(path.join(ROOT, 'dist', 'shared', 'db', 'Store.js'))});
const { SqliteEngine } = require(${JSON.stringify(path.join(ROOT, 'dist', 'shared', 'db', 'sqlite', 'SqliteEngine.js'))});
const { getTable } = require(${JSON.stringify(path.join(ROOT, 'dist', 'shared', 'tables.js'))});
const db = new Store(new SqliteEngine(process.argv[1]));
const told = new Promise((resolve) => process.stdin.once('data', resolve));
db.write(async (tx) => {
  await tx.insertRows(getTable('departments'), [[1, 'Child']]);
  await tx.existingIds(getTable('departments'), [1]);
  console.log('holding');
  await told;
}).then(() => { console.log('committed'); return db.close(); });
`;

let dir: string | undefined;
afterEach(() => removeDir(dir));

describe('two processes over one SQLite file', () => {
  it('serialise their writes: the second begins once the first has committed, and sees its row', async () => {
    requireDist();
    dir = tempDir('sqlite-two-processes-');
    const file = path.join(dir, 'service.sqlite');
    const db = new Store(new SqliteEngine(file));
    await db.migrate();
    const child = spawn(process.execPath, ['-e', CHILD, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: child.stdout });
    const said = (text: string) => new Promise<void>((resolve) => lines.on('line', (line) => line === text && resolve()));
    try {
      const holding = said('holding');
      const committed = said('committed');
      await holding;
      const events: string[] = [];
      const ours = db.write(async (tx) => {
        events.push('ours begins');
        events.push((await tx.findRows(departments, [1])).size === 1 ? "ours sees the child's row" : 'ours sees nothing');
        await tx.insertRows(departments, [[2, 'Parent']]);
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(events).toEqual([]); // waiting for the child's write lock
      child.stdin.write('commit\n');
      await committed;
      await ours;
      expect(events).toEqual(['ours begins', "ours sees the child's row"]);
      expect(await db.listRows(departments, 0, 10)).toEqual([
        [1, 'Child'],
        [2, 'Parent'],
      ]);
    } finally {
      child.kill();
      await db.close();
    }
  });
});
