import { ServiceError } from './ServiceError';

/** The request is sound but would break the data's integrity, e.g. a restore that orphans rows. */
export class ConflictError extends ServiceError {
  constructor(message: string, code = 'conflict', details?: Record<string, unknown>) {
    super('conflict', code, message, details);
  }
}
