// Preloaded into Azurite: when the host process goes away (even by SIGKILL), its IPC channel
// closes, and Azurite follows instead of living on as an orphan holding its port and data. It
// stops through its own SIGTERM handler, which saves its blob index: a plain exit could lose the
// blobs written in its last seconds.
process.on('disconnect', () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(0), 5000).unref();
});
