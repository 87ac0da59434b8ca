import { ServiceError } from './ServiceError';

/** A batch over its row limit or byte limit; nothing of it was written. */
export class PayloadTooLargeError extends ServiceError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
  }
}
