import { CliError } from './CliError';
import { EXIT } from './exitCodes';

/** No answer at all: the service or the storage account could not be reached (refused, unknown name, timed out). */
export class UnreachableError extends CliError {
  constructor(what: string, cause: unknown) {
    super(EXIT.unreachable, 'unreachable', `cannot reach ${what}: ${networkReason(cause)}`);
    this.name = 'UnreachableError';
  }
}

/** fetch's "fetch failed" hides the reason in its cause (ECONNREFUSED, ENOTFOUND...), or in the causes of an AggregateError. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause ?? error;
  const first = cause instanceof AggregateError && cause.errors.length > 0 ? cause.errors[0] : cause;
  const { code, message } = (first ?? {}) as { code?: unknown; message?: string };
  // A DOMException's code is a number that says nothing to a person.
  const name = typeof code === 'string' ? code : undefined;
  if (name && message?.includes(name)) return message;
  return [name, message].filter(Boolean).join(': ') || String(error);
}
