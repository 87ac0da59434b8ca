import { ServiceError } from './ServiceError';

/** What the request names exists but cannot be used as it is: a corrupted backup, another schema. */
export class UnprocessableError extends ServiceError {
  constructor(message: string, code = 'unprocessable', details?: Record<string, unknown>) {
    super(422, code, message, details);
  }
}
