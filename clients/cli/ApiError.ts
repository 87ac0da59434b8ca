import { CliError } from './CliError';
import { EXIT } from './exitCodes';

/** The service answered with an error: a 4xx refused the request; a 5xx is the service's bug. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(status < 500 ? EXIT.refused : EXIT.unexpected, code, message, { status, ...details });
    this.name = 'ApiError';
  }
}
