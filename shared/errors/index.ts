export { ServiceError } from './ServiceError';
export { BadRequestError } from './BadRequestError';
export { NotFoundError } from './NotFoundError';
export { PayloadTooLargeError } from './PayloadTooLargeError';
export { UnsupportedMediaTypeError } from './UnsupportedMediaTypeError';
export { ConflictError } from './ConflictError';
export { UnprocessableError } from './UnprocessableError';
export { ConfigurationError } from './ConfigurationError';
