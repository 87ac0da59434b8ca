/**
 * The one error type that crosses from `shared/` to the HTTP edge. It carries the status the
 * request deserves and a stable machine-readable code, so functions turn it into a response
 * without knowing where it came from. Anything that is not a ServiceError is a bug (HTTP 500).
 */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields for the client, e.g. the ids a restore would orphan. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
