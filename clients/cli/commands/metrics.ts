import { Option, type Command } from 'commander';
import { DEFAULT_YEAR, DEPARTMENTS_ABOVE_MEAN_COLUMNS, HIRES_BY_QUARTER_COLUMNS } from '../../../shared/metrics';
import { action, refuseCsvWithJson, type Cli } from '../cli';
import { EXIT, type ExitCode } from '../exitCodes';
import { formatTable, writeStream } from '../output';
import { parseYear } from '../parse';

/** The stakeholders' metrics: the route of each, and the columns of its rows. */
const METRICS = [
  { name: 'hires-by-quarter', columns: HIRES_BY_QUARTER_COLUMNS, description: 'hires per department and job in the year, by quarter' },
  {
    name: 'departments-above-mean',
    columns: DEPARTMENTS_ABOVE_MEAN_COLUMNS,
    description: 'the departments that hired more than the mean of all departments in the year',
  },
] as const;

interface MetricAnswer {
  readonly year: number;
  readonly rows: object[];
  /** departments-above-mean: the mean its departments exceed. */
  readonly mean?: number;
}

export function registerMetrics(program: Command): void {
  const metrics = program.command('metrics').description("the stakeholders' metrics: a table, --csv for a spreadsheet, --json");
  for (const metric of METRICS) {
    metrics
      .command(metric.name)
      .description(metric.description)
      .addOption(new Option('--year <year>', `the year (the service defaults to ${DEFAULT_YEAR})`).argParser(parseYear))
      .option('--csv', 'the CSV file the service gives, header row and all')
      .action(action((cli: Cli, options: { year?: number; csv?: boolean }) => show(cli, metric.name, metric.columns, options)));
  }
}

async function show(cli: Cli, name: string, columns: readonly string[], options: { year?: number; csv?: boolean }): Promise<ExitCode> {
  refuseCsvWithJson(cli, options.csv);
  const query = new URLSearchParams({
    ...(options.year !== undefined && { year: String(options.year) }),
    ...(options.csv && { format: 'csv' }),
  });
  const route = `metrics/${name}?${query}`;
  if (options.csv) {
    await writeStream(await cli.api.download(route));
    return EXIT.ok;
  }
  const answer = await cli.api.get<MetricAnswer>(route);
  const mean = answer.mean === undefined ? '' : ` (mean: ${answer.mean.toFixed(1)} hires per department)`;
  cli.out.result(answer, () => `${name}, ${answer.year}${mean}:\n${formatTable(columns, answer.rows)}`);
  return EXIT.ok;
}
