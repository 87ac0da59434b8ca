import { ServiceError } from './ServiceError';

/** The body's Content-Type is not one the endpoint reads. */
export class UnsupportedMediaTypeError extends ServiceError {
  constructor(message: string, code = 'unsupported_media_type') {
    super(415, code, message);
  }
}
