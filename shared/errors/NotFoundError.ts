import { ServiceError } from './ServiceError';

/** The named thing (table, run, blob, backup) does not exist. */
export class NotFoundError extends ServiceError {
  constructor(message: string, code = 'not_found') {
    super('not_found', code, message);
  }
}
