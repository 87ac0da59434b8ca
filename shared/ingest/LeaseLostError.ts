/** Another worker holds the run now (this one's lease expired): this one stops without committing. */
export class LeaseLostError extends Error {
  constructor(runId: string) {
    super(`run ${runId} is held by another worker`);
    this.name = 'LeaseLostError';
  }
}
