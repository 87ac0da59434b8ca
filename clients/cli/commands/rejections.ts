import { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { Api, RejectionRecord, Run } from '../api';
import { action, refuseCsvWithJson, type Cli } from '../cli';
import { EXIT, type ExitCode } from '../exitCodes';
import { formatBytes, formatCount, outputFile, writeStream } from '../output';
import { rejectionsCsvRoute } from '../runReport';

/** As many as the service gives in one page. */
const PAGE = 1000;

interface RejectionsOptions {
  readonly csv?: boolean;
  readonly output?: string;
}

export function registerRejections(program: Command): void {
  program
    .command('rejections')
    .description("a run's rejected rows with their reasons; with --csv, the file to fix in a spreadsheet and load again")
    .argument('<runId>', 'the run')
    .option('--csv', 'the CSV file to fix (its rows as they were, and a column of reasons)')
    .option('--output <file>', 'write to this file rather than to stdout')
    .action(action(rejections));
}

async function rejections(cli: Cli, runId: string, options: RejectionsOptions): Promise<ExitCode> {
  refuseCsvWithJson(cli, options.csv);
  const output = options.output ? await outputFile(options.output) : undefined;
  // An unknown run is a 404 here, where the listing would be merely empty.
  const run = await cli.api.get<Run>(`runs/${encodeURIComponent(runId)}`);
  const source = options.csv
    ? await cli.api.download(rejectionsCsvRoute(run.runId))
    : Readable.from(cli.out.json ? listingJson(cli.api, run) : listingText(cli.api, run));
  await writeStream(source, output);
  if (!output) return EXIT.ok;
  const bytes = output.bytesWritten;
  cli.out.result(
    { runId: run.runId, rejected: run.rejected, file: options.output, bytes },
    () => `wrote ${formatBytes(bytes)} to ${options.output}`,
  );
  return EXIT.ok;
}

/** Every rejection of the run, page by page: memory holds one page, whatever the run's size. */
async function* pages(api: Api, runId: string): AsyncGenerator<RejectionRecord[]> {
  for (let afterId = 0; ;) {
    const page = await api.get<{ rejections: RejectionRecord[]; nextAfterId: number | null }>(
      `rejections?runId=${runId}&afterId=${afterId}&limit=${PAGE}`,
    );
    yield page.rejections;
    if (page.nextAfterId === null) return;
    afterId = page.nextAfterId;
  }
}

/** One JSON document, `{"runId","rejections":[...]}`, written as its pages come. */
async function* listingJson(api: Api, run: Run): AsyncGenerator<string> {
  yield `{"runId":${JSON.stringify(run.runId)},"rejections":[`;
  let first = true;
  for await (const page of pages(api, run.runId)) {
    for (const rejection of page) {
      yield `${first ? '' : ','}${JSON.stringify(rejection)}`;
      first = false;
    }
  }
  yield ']}\n';
}

async function* listingText(api: Api, run: Run): AsyncGenerator<string> {
  yield `run ${run.runId}: ${formatCount(run.rejected)} rows of ${run.table} rejected\n`;
  for await (const page of pages(api, run.runId)) {
    for (const { position, reasons, rawText } of page) {
      const why = reasons.map((r) => (r.field ? `${r.field}: ${r.message}` : r.message)).join('; ');
      yield `${run.kind === 'batch' ? 'row' : 'line'} ${position}: ${why}\n  ${rawText}\n`;
    }
  }
}
