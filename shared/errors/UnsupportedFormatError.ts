import { ServiceError } from './ServiceError';

/** The input is in a format or character encoding the service does not read. */
export class UnsupportedFormatError extends ServiceError {
  constructor(message: string, code = 'unsupported_media_type') {
    super('unsupported', code, message);
  }
}
