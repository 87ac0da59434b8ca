import { ServiceError } from './ServiceError';

/**
 * The service's settings are incomplete or contradictory. Not the caller's fault, so a 503, with a
 * message naming the setting (never its value), so that whoever reads the response or the log
 * knows what to fix.
 */
export class ConfigurationError extends ServiceError {
  constructor(message: string) {
    super(503, 'not_configured', message);
  }
}
