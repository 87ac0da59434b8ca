export { ServiceError, type ErrorKind } from './ServiceError';
export { InvalidInputError } from './InvalidInputError';
export { NotFoundError } from './NotFoundError';
export { TooLargeError } from './TooLargeError';
export { UnsupportedFormatError } from './UnsupportedFormatError';
export { ConflictError } from './ConflictError';
export { UnusableError } from './UnusableError';
export { ConfigurationError } from './ConfigurationError';
export { WriteLockTimeoutError } from './WriteLockTimeoutError';
