import fs from 'node:fs';
import path from 'node:path';

/**
 * The compiled script of one of this folder's worker threads. Under the test runner this module
 * is TypeScript source, and the worker runs from the build (`npm test` builds first).
 */
export function workerScript(name: string): string {
  const beside = path.join(__dirname, `${name}.js`);
  if (fs.existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '..', '..', '..', 'dist', 'shared', 'db', 'sqlite', `${name}.js`);
  if (fs.existsSync(built)) return built;
  throw new Error(`the worker script ${built} is missing: run "npm run build"`);
}
