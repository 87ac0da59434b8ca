import { ServiceError } from './ServiceError';

/** The input itself is malformed: bad JSON, a bad value, an empty batch. */
export class InvalidInputError extends ServiceError {
  constructor(message: string, code = 'invalid_input', details?: Record<string, unknown>) {
    super('invalid', code, message, details);
  }
}
