// Preloaded into Azurite: when the host process goes away (even by SIGKILL), its IPC channel
// closes, and Azurite follows instead of living on as an orphan holding its port and data.
process.on('disconnect', () => process.exit(0));
