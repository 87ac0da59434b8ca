import { ServiceError } from './ServiceError';

/** A batch over its row limit or byte limit; nothing of it was written. */
export class TooLargeError extends ServiceError {
  constructor(message: string) {
    super('too_large', 'payload_too_large', message);
  }
}
