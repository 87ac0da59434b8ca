export { ServiceError } from './ServiceError';
export { BadRequestError } from './BadRequestError';
export { NotFoundError } from './NotFoundError';
export { PayloadTooLargeError } from './PayloadTooLargeError';
export { UnsupportedMediaTypeError } from './UnsupportedMediaTypeError';
