/** What every command works with: the global options, the service, and where to write. */
import type { Command } from 'commander';
import { Api, type ApiSettings } from './api';
import { CliError } from './CliError';
import { EXIT, type ExitCode } from './exitCodes';
import { Output } from './output';
import type { StorageSettings } from './storage';

export interface GlobalOptions extends StorageSettings, ApiSettings {
  readonly json?: boolean;
}

export interface Cli {
  readonly options: GlobalOptions;
  readonly api: Api;
  readonly out: Output;
  /** Progress as bars: stderr is a terminal, and no --json. */
  readonly tty: boolean;
}

/** A commander action: `handler` gets the Cli and commander's arguments, and returns the exit status. */
export function action<A extends unknown[]>(handler: (cli: Cli, ...args: A) => Promise<ExitCode>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const options = (args.at(-1) as Command).optsWithGlobals<GlobalOptions>();
    const cli: Cli = {
      options,
      api: new Api(options),
      out: new Output(Boolean(options.json)),
      tty: Boolean(process.stderr.isTTY) && !options.json,
    };
    process.exitCode = await handler(cli, ...(args.slice(0, -1) as A));
  };
}

/** --csv writes the service's CSV and --json a JSON document: one output, so not both (a global option, out of reach of commander's conflicts). */
export function refuseCsvWithJson(cli: Cli, csv: boolean | undefined): void {
  if (csv && cli.out.json) throw new CliError(EXIT.usage, 'usage', 'option --csv cannot be used with option --json: choose one');
}
