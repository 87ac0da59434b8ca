/** What every command works with: the global options, the service, and where to write. */
import type { Command } from 'commander';
import { Api } from './api';
import type { ExitCode } from './exitCodes';
import { Output } from './output';
import type { StorageSettings } from './storage';

export interface GlobalOptions extends StorageSettings {
  readonly url: string;
  readonly key?: string;
  readonly adminKey?: string;
  readonly json?: boolean;
}

export interface Cli {
  readonly options: GlobalOptions;
  readonly api: Api;
  readonly out: Output;
  /** Progress as bars: stderr is a terminal, and no --json. */
  readonly tty: boolean;
}

/**
 * A commander action: `handler` gets the Cli, then the command's arguments and options as
 * commander passes them; the status it returns is the process's exit status.
 */
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
