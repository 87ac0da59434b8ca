import { ServiceError } from './ServiceError';

/** The body's Content-Type is not one the endpoint reads. */
export class UnsupportedMediaTypeError extends ServiceError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}
