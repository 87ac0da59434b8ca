import BetterSqlite3 from 'better-sqlite3';

/** Opens a connection with the settings every connection of the service needs. */
export function openConnection(file: string, readonly: boolean): BetterSqlite3.Database {
  const connection = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  connection.pragma('busy_timeout = 10000'); // first: setting WAL mode itself may wait for another connection
  // WAL: readers never block the writer nor see its uncommitted rows. NORMAL sync keeps every
  // committed transaction through a process crash (only an OS crash may lose the last ones).
  if (!readonly) connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  connection.pragma('foreign_keys = ON');
  return connection;
}
