import { Option, type Command } from 'commander';
import { RUN_KINDS } from '../../../shared/db/Database';
import { DESCRIBED_RUN_STATUSES } from '../../../shared/ingest/runs';
import type { Run } from '../api';
import { action, type Cli } from '../cli';
import { EXIT, type ExitCode } from '../exitCodes';
import { formatTable } from '../output';
import { parseLimit } from '../parse';

interface RunsOptions {
  readonly table?: string;
  readonly kind?: string;
  readonly status?: string;
  readonly limit: number;
}

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('the newest runs first: loads, batches and restores')
    .option('--table <table>', 'only this table')
    .addOption(new Option('--kind <kind>', 'only this kind').choices(RUN_KINDS))
    .addOption(new Option('--status <status>', 'only this status').choices(DESCRIBED_RUN_STATUSES))
    .addOption(new Option('--limit <n>', 'how many, 1 to 1000').default(20).argParser(parseLimit))
    .action(action(runs));
}

async function runs(cli: Cli, options: RunsOptions): Promise<ExitCode> {
  const query = new URLSearchParams({ limit: String(options.limit) });
  for (const name of ['table', 'kind', 'status'] as const) if (options[name]) query.set(name, options[name]);
  const answer = await cli.api.get<{ runs: Run[] }>(`runs?${query}`);
  cli.out.result(answer, () =>
    formatTable(['runId', 'table', 'kind', 'status', 'startedAt', 'received', 'inserted', 'skipped', 'rejected'], answer.runs),
  );
  return EXIT.ok;
}
