/**
 * Serialises write transactions on SQLite's single write connection. better-sqlite3 is
 * synchronous, but a transaction spans awaits; without this, a second request's statements would
 * run inside the first request's open transaction.
 */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
