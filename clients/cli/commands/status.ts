import type { Command } from 'commander';
import type { Run } from '../api';
import { action, type Cli } from '../cli';
import type { ExitCode } from '../exitCodes';
import { followRun } from '../followRun';
import { intervalOption, progressDisplay } from '../progress';
import { runOutcome, runText } from '../runReport';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("a run's status, counts and progress (exit status 5 if it failed, 6 if it rejected rows)")
    .argument('<runId>', 'the run, as load printed it')
    .option('--watch', 'show its progress until it ends')
    .addOption(intervalOption())
    .action(action(status));
}

async function status(cli: Cli, runId: string, options: { watch?: boolean; interval: number }): Promise<ExitCode> {
  let run = await cli.api.get<Run>(`runs/${encodeURIComponent(runId)}`);
  if (options.watch) run = await followRun(cli.api, run, progressDisplay(cli.tty, options.interval), options.interval);
  cli.out.result(run, () => runText(run, cli.api));
  return runOutcome(run);
}
