/** Another local host is running on the same DATA_DIR: two would write one SQLite file and one Azurite. */
export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(`another local host (process ${pid}) is using DATA_DIR ${dataDir}: stop it first, or start this one with another DATA_DIR`);
    this.name = 'DataDirInUseError';
  }
}
