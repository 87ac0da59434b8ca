#!/usr/bin/env node
/**
 * csv2sql, the data engineer's command-line client of the service: loads files through the
 * historic container with their progress, runs and their rejected rows, backups and restores,
 * and the metrics. Against the local host of `npm start` by default, or Azure with a key.
 */
import { Command, CommanderError, Option } from 'commander';
import { SETTING_DEFAULTS } from '../../shared/config';
import { LOCAL_HOST_PORT } from '../../local/hostPort';
import { CliError } from './CliError';
import { EXIT, exitCodesHelp, type ExitCode } from './exitCodes';
import { handleInterrupts } from './interrupt';
import { Output } from './output';
import { parseAccount, parseUrl } from './parse';
import { AZURITE_STANDARD_PORTS } from '../../local/azurite';
import { LOCAL_STORAGE } from './storage';
import { registerBackup } from './commands/backup';
import { registerBackups } from './commands/backups';
import { registerLoad } from './commands/load';
import { registerMetrics } from './commands/metrics';
import { registerRejections } from './commands/rejections';
import { registerRestore } from './commands/restore';
import { registerRuns } from './commands/runs';
import { registerStatus } from './commands/status';
import { registerTables } from './commands/tables';

function program(): Command {
  const program = new Command('csv2sql')
    .description('Load CSV files into the service and follow them; read runs, rejected rows and metrics; back up and restore.')
    .addOption(
      new Option('--url <base>', 'the service').env('CSV2SQL_URL').default(`http://127.0.0.1:${LOCAL_HOST_PORT}`).argParser(parseUrl),
    )
    .addOption(new Option('--key <functionKey>', 'a function key, sent as x-functions-key (Azure)').env('CSV2SQL_KEY'))
    .addOption(new Option('--admin-key <masterKey>', 'the master key, for restores (default: --key)').env('CSV2SQL_ADMIN_KEY'))
    .addOption(
      new Option('--storage-connection-string <connection>', 'the storage account of the historic container')
        .env('AZURE_STORAGE_CONNECTION_STRING')
        .default(LOCAL_STORAGE, `the Azurite of npm start, 127.0.0.1:${AZURITE_STANDARD_PORTS.blob}`),
    )
    .addOption(
      new Option('--storage-account <name>', 'the storage account on Azure, reached with DefaultAzureCredential (az login)')
        .env('CSV2SQL_STORAGE_ACCOUNT')
        .conflicts('storageConnectionString')
        .argParser(parseAccount),
    )
    .addOption(
      new Option('--container <name>', 'the historic container the service loads from')
        .env('HISTORIC_CONTAINER')
        .default(SETTING_DEFAULTS.HISTORIC_CONTAINER),
    )
    .option('--json', 'one JSON document on stdout per command; errors as JSON on stderr')
    .addHelpText('after', exitCodesHelp())
    // Usage errors are printed by main (as JSON with --json), with exit status 2.
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError();
  for (const register of [
    registerLoad,
    registerStatus,
    registerRejections,
    registerBackup,
    registerBackups,
    registerRestore,
    registerMetrics,
    registerTables,
    registerRuns,
  ]) {
    register(program);
  }
  return program;
}

/** Prints what failed and returns its exit status. */
function reportFailure(error: unknown, out: Output): ExitCode {
  if (error instanceof CommanderError) {
    // Help asked for (exit code 0), or shown because a command was missing: commander has printed it.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    error = new CliError(EXIT.usage, 'usage', `${error.message.replace(/^error: /, '').replace(/\n/g, ' ')} (see csv2sql --help)`);
  }
  const failure = error instanceof CliError ? error : new CliError(EXIT.unexpected, 'unexpected', (error as Error)?.stack ?? String(error));
  out.error(failure);
  return failure.exitCode;
}

async function main(): Promise<void> {
  handleInterrupts();
  // The reader of stdout has gone (`| head`): it has all it wants.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? EXIT.ok);
  });
  const cli = program();
  try {
    await cli.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = reportFailure(error, new Output(Boolean(cli.opts().json)));
  }
}

void main();
