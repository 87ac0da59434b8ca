/**
 * Runs async work one piece at a time, in call order. A transaction spans awaits, so without it a
 * second request's statements would run inside the first one's open transaction (SQLite's single
 * write connection), or two requests would be sent at once on one connection (mssql refuses that).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** Pieces of work queued or running. */
  private queued = 0;

  run<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const result = this.tail.then(work).finally(() => this.queued--);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Whether work is queued behind the piece now running. */
  hasWaiting(): boolean {
    return this.queued > 1;
  }

  /** Resolves once everything queued so far has finished, failed or not. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
