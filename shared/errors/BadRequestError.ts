import { ServiceError } from './ServiceError';

/** The request itself is malformed: bad JSON, a bad query value, an empty batch. */
export class BadRequestError extends ServiceError {
  constructor(message: string, code = 'bad_request', details?: Record<string, unknown>) {
    super(400, code, message, details);
  }
}
