import { ServiceError } from './ServiceError';

/**
 * The service's settings are incomplete or contradictory: not the caller's fault. The message
 * names the setting (never its value), so that whoever reads the response or the log knows what to fix.
 */
export class ConfigurationError extends ServiceError {
  constructor(message: string, code = 'not_configured') {
    super('unavailable', code, message);
  }
}
