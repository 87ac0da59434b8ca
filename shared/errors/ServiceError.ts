/**
 * The one error type that crosses from `shared/` to its callers: what kind of failure it is, a
 * stable machine-readable code and a message for people. The HTTP edge maps each kind to a status
 * (functions/lib/http.ts); anything that is not a ServiceError is a bug.
 */
export type ErrorKind =
  /** The request is malformed: bad JSON, a bad value, an empty batch. */
  | 'invalid'
  | 'not_found'
  /** Sound, but it would break the data's integrity or collide with work in progress. */
  | 'conflict'
  /** Over a size or count limit; nothing of it was used. */
  | 'too_large'
  /** In a format or encoding the service does not read. */
  | 'unsupported'
  /** What the request names exists but cannot be used as it is: a corrupted backup, a reused key. */
  | 'unusable'
  /** Not the caller's fault: the service's settings, or a resource it waited on too long. */
  | 'unavailable';

export class ServiceError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    /** Extra fields for the client, e.g. the ids a restore would orphan. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
