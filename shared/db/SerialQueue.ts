/**
 * Runs async work one piece at a time, in call order. A transaction spans awaits, so without it a
 * second request's statements would run inside the first one's open transaction (SQLite's single
 * write connection), or two requests would be sent at once on one connection (mssql refuses that).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once everything queued so far has finished, failed or not. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
