import { ServiceError } from './ServiceError';

/** Another write held the database for longer than a writer waits; nothing was written. */
export class WriteLockTimeoutError extends ServiceError {
  constructor(waitedMs: number) {
    super(
      'unavailable',
      'write_lock_timeout',
      `another write has held the database for over ${waitedMs / 60_000} minutes (a restore, or a load of another process or instance); nothing was written: try again`,
    );
  }
}
