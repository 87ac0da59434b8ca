import type { ExitCode } from './exitCodes';

/** A failure csv2sql explains: a code and a message to print, details for --json, and the exit status it means. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}
