import fs from 'node:fs';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { Option, type Command } from 'commander';
import { assertSupportedCharset } from '../../../shared/ingest/transcode';
import { validBlobPath } from '../../../shared/storage/BlobStorage';
import { TABLES } from '../../../shared/tables';
import { ServiceError } from '../../../shared/errors';
import type { Run } from '../api';
import { action, type Cli } from '../cli';
import { CliError } from '../CliError';
import { EXIT, type ExitCode } from '../exitCodes';
import { followRun } from '../followRun';
import { interruptSignal } from '../interrupt';
import { formatBytes } from '../output';
import { MiB, parseBlockSize } from '../parse';
import { intervalOption, progressDisplay, type ProgressDisplay } from '../progress';
import { rejectionsCsvUrl, runOutcome, runText } from '../runReport';
import { historicContainer, storageError } from '../storage';
import { uploadFile, type UploadResult } from '../upload';

interface LoadOptions {
  readonly blob?: string;
  readonly charset?: string;
  readonly dryRun?: boolean;
  readonly blockSize: number;
  readonly interval: number;
}

/** The tables, as the help names them: "departments, jobs or hired_employees". */
const TABLE_NAMES = `${TABLES.slice(0, -1)
  .map((t) => t.name)
  .join(', ')} or ${TABLES.at(-1)!.name}`;
export function registerLoad(program: Command): void {
  program
    .command('load')
    .summary('upload a CSV file and load it into a table, with its progress')
    .description(
      'upload a CSV file to the historic container (an interrupted upload resumes when run again), load it into the table, and show its progress until the load ends',
    )
    .argument('<table>', TABLE_NAMES)
    .argument('<file>', 'the CSV file')
    .option('--blob <name>', 'its name in the container (default: <table>/<file name>)')
    .option('--charset <charset>', 'its encoding, if not UTF-8: windows-1252, iso-8859-1, utf-16le...')
    .option('--dry-run', 'check every row and count what a load would do, without writing the table')
    .addOption(
      new Option('--block-size <size>', 'upload block size: bytes, or with K or M, 16K to 100M')
        .default(8 * MiB, '8M')
        .argParser(parseBlockSize),
    )
    .addOption(intervalOption())
    .action(action(load));
}

async function load(cli: Cli, table: string, file: string, options: LoadOptions): Promise<ExitCode> {
  const blob = serviceRule('--blob', () => validBlobPath(options.blob ?? `${table}/${path.basename(file)}`));
  serviceRule('--charset', () => assertSupportedCharset(options.charset));
  requireFile(file);
  const container = await historicContainer(cli.options);
  // Before a byte is sent: the table exists, the service answers, and it takes the key.
  await cli.api.get(`tables/${encodeURIComponent(table)}/rows?limit=1`);
  const display = progressDisplay(cli.tty, options.interval);
  const upload = await uploadWithProgress(container, file, blob, options, display);
  cli.out.note(uploadText(`${cli.options.container}/${blob}`, upload));

  const started = await cli.api.request<Run>('POST', `tables/${encodeURIComponent(table)}/load${options.dryRun ? '?dryRun=true' : ''}`, {
    body: { blob, ...(options.charset && { charset: options.charset }) },
  });
  // The service answers 200 with the run of the same load when it is already queued or running.
  const existing = started.status === 200;
  cli.out.note(
    existing ? `the same load is already queued or running: following run ${started.body.runId}` : `load queued: run ${started.body.runId}`,
  );
  const run = await followRun(cli.api, started.body, display, options.interval);
  cli.out.result(
    {
      container: cli.options.container,
      blob,
      upload,
      run,
      rejectionsCsv: rejectionsCsvUrl(cli.api, run.runId),
      ...(existing && { existing }),
    },
    () => runText(run, cli.api),
  );
  return runOutcome(run);
}

async function uploadWithProgress(
  container: ContainerClient,
  file: string,
  blob: string,
  options: LoadOptions,
  display: ProgressDisplay,
): Promise<UploadResult> {
  const signal = interruptSignal();
  let blocksHeld = 0;
  try {
    return await uploadFile(container.getBlockBlobClient(blob), file, {
      blockSize: options.blockSize,
      signal,
      onProgress: (progress) => {
        blocksHeld = progress.staged + progress.reused;
        display.upload(progress.bytes, progress.size);
      },
    });
  } catch (error) {
    if (!signal.aborted) throw storageError(error, container);
    throw new CliError(
      EXIT.interrupted,
      'interrupted',
      `upload interrupted with at least ${blocksHeld} blocks in the storage: run the same command again to resume (the storage keeps staged blocks for a week)`,
      { blob },
    );
  } finally {
    display.stop();
  }
}

function uploadText(where: string, upload: UploadResult): string {
  if (upload.unchanged) return `${where} already holds this file (${formatBytes(upload.size)}): nothing uploaded`;
  const resumed = upload.reused > 0 ? `; resumed: ${upload.reused} blocks the storage already held were skipped` : '';
  return `uploaded ${formatBytes(upload.size)} to ${where}: ${upload.staged} of ${upload.blocks} blocks sent${resumed}`;
}

/** The service's own rule for an option's value, checked before the upload rather than after it: its refusal is a usage error. */
function serviceRule<T>(option: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof ServiceError) throw new CliError(EXIT.usage, error.code, `${option}: ${error.message}`);
    throw error;
  }
}

/** A file to upload: one that exists, can be read, and has a row at least (an empty blob is no file to load). */
function requireFile(file: string): void {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw new CliError(EXIT.usage, 'no_such_file', `${file} is not a file`);
  if (stat.size === 0) throw new CliError(EXIT.usage, 'empty_file', `${file} is empty: there is nothing to load`);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    throw new CliError(EXIT.usage, 'unreadable_file', `${file} cannot be read: ${(error as NodeJS.ErrnoException).code}`);
  }
}
