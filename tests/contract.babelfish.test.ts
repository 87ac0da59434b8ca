/**
 * The database contract through the production code path (shared/db/mssql) against a real TDS
 * server: Babelfish for PostgreSQL, where one is installed (BABELFISH_HOME, default
 * /opt/babelfish). The file starts the server if it is not running, creates a fresh database,
 * runs the contract in it, and drops it. Babelfish is not SQL Server: where it truly differs, the
 * implementation declares a capability and the contract skips that case with the reason.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { babelfishConfig, babelfishMissing, ensureBabelfishRunning, onMaster, stopBabelfish } from '../tools/babelfish';
import { describeMssqlContract } from './helpers/mssqlContract';

const missing = babelfishMissing();

if (missing) {
  describe('database contract: Babelfish (TDS)', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
} else {
  const database = `contract_${Date.now()}`;
  let started = false;
  beforeAll(async () => {
    started = await ensureBabelfishRunning();
    await onMaster(`CREATE DATABASE ${database}`);
  }, 120_000);
  afterAll(async () => {
    await onMaster(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    if (started) stopBabelfish();
  }, 120_000);
  describeMssqlContract('Babelfish (TDS)', babelfishConfig(database));
}
