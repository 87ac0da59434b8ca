/**
 * When a load's transaction commits. The transaction's side is in the contract suite (a
 * transaction knows when another write waits for it); concurrency.test.ts shows batches
 * answered while a load runs.
 */
import { describe, expect, it } from 'vitest';
import { transactionFull } from '../shared/ingest/loadCsv';

describe('a load transaction', () => {
  it('goes on for up to 10 s or 1M rows while no other write waits', () => {
    expect(transactionFull(999_999, 9_999, false)).toBe(false);
    expect(transactionFull(1_000_000, 0, false)).toBe(true);
    expect(transactionFull(0, 10_000, false)).toBe(true);
  });

  it('commits once it has run 2 s if another write waits for it', () => {
    expect(transactionFull(0, 1_999, true)).toBe(false);
    expect(transactionFull(0, 2_000, true)).toBe(true);
  });
});
