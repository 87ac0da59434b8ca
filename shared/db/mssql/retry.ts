/**
 * Retrying what Azure SQL reports as transient: reconfiguration, failover, resource limits and
 * the serverless database resuming. The codes are those Microsoft documents as retryable for Azure
 * SQL Database ("Troubleshoot transient connection errors"); anything else (a constraint, a syntax
 * error, a permission) fails at once, because repeating it cannot succeed.
 *
 * Only work that has not changed anything is retried: connecting, reads, and beginning a
 * transaction. A write transaction that fails midway is rolled back and reported; the service's
 * writes are idempotent (a re-sent row with the same values is skipped), so the caller re-sends.
 */
export const TRANSIENT_ERROR_NUMBERS: ReadonlySet<number> = new Set([
  // Database not available, or being moved (failover, reconfiguration, serverless resume).
  4060, 40197, 40501, 40613, 49918, 49919, 49920, 4221, 615, 926,
  // Resource limits of the service tier reached: wait and retry.
  10928, 10929, 10053, 10054, 10060,
  // Network-level failures reported by the server side of the connection.
  233, 64, 20,
  // Chosen as a deadlock victim: the whole statement or transaction was rolled back.
  1205,
]);

/** Driver error codes for connections that dropped or never opened (tedious/mssql `code`). */
const TRANSIENT_DRIVER_CODES: ReadonlySet<string> = new Set(['ESOCKET', 'ECONNRESET', 'ETIMEOUT', 'ECONNCLOSED', 'ETIMEDOUT']);

export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { number, code, originalError, precedingErrors } = error as {
    number?: unknown;
    code?: unknown;
    originalError?: unknown;
    precedingErrors?: unknown;
  };
  if (typeof number === 'number' && TRANSIENT_ERROR_NUMBERS.has(number)) return true;
  if (typeof code === 'string' && TRANSIENT_DRIVER_CODES.has(code)) return true;
  // mssql wraps the driver's error, and a batch's first error may be in precedingErrors.
  if (originalError && originalError !== error && isTransient(originalError)) return true;
  return Array.isArray(precedingErrors) && precedingErrors.some(isTransient);
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Delay before the second attempt; doubled for each one after, with jitter. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** About a minute in all: long enough for a failover or a serverless database to resume. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 7, firstDelayMs: 1_000, maxDelayMs: 20_000 };

export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= policy.attempts || !isTransient(error)) throw error;
      const delay = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (attempt - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }
}
