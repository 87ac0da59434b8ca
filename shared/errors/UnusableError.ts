import { ServiceError } from './ServiceError';

/** What the request names exists but cannot be used as it is: a corrupted backup, another schema. */
export class UnusableError extends ServiceError {
  constructor(message: string, code = 'unusable', details?: Record<string, unknown>) {
    super('unusable', code, message, details);
  }
}
