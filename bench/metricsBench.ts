/**
 * The metrics endpoints' latency on the benchmark's loaded table, against the plain SQL for the
 * same answer run by the `sqlite3` command on the same database file.
 *
 * Each endpoint: 20 calls one after another (after one warm-up call), median wall time over HTTP.
 * Plain SQL: each statement run 20 times by `sqlite3 <file> "<sql>"`; its time is the median of
 * those runs minus the median of 20 runs of `sqlite3 <file> "SELECT 1"` (the command's own start,
 * open and exit), floored at 0.1 ms. The service's database is in WAL mode, so the command reads
 * it while the host runs.
 */
import { execFileSync } from 'node:child_process';
import { yearBounds } from '../shared/metrics';

const CALLS = 20;
const YEAR = 2021;

/**
 * The fastest plain SQL found for each answer: the year's range read from the covering index
 * (datetime, department_id, job_id), grouped by ids, names joined onto the groups. (Grouping by one
 * integer key is faster in SQLite's sorter than by two columns; the sqlite3 command runs with
 * SQLite's default 2 MB cache, which also suits the sorter best.)
 */
function plainSql(): { name: string; route: string; sql: string }[] {
  const b = yearBounds(YEAR);
  const range = `datetime BETWEEN ${b.first} AND ${b.last}`;
  return [
    {
      name: 'hires-by-quarter',
      route: `/api/metrics/hires-by-quarter?year=${YEAR}`,
      sql: `WITH c AS (SELECT department_id * 2147483648 + job_id AS pair, SUM(datetime < ${b.q2}) AS a, SUM(datetime < ${b.q3}) AS b, SUM(datetime < ${b.q4}) AS c, COUNT(*) AS n
              FROM hired_employees WHERE ${range} GROUP BY pair)
            SELECT d.department, j.job, c.a, c.b - c.a, c.c - c.b, c.n - c.c
            FROM c JOIN departments d ON d.id = c.pair >> 31 JOIN jobs j ON j.id = c.pair & 2147483647
            ORDER BY d.department COLLATE NOCASE, d.department, j.job COLLATE NOCASE, j.job, d.id, j.id;`,
    },
    {
      name: 'departments-above-mean',
      route: `/api/metrics/departments-above-mean?year=${YEAR}`,
      sql: `WITH c AS (SELECT department_id, COUNT(*) AS hired FROM hired_employees WHERE ${range} GROUP BY department_id)
            SELECT d.id, d.department, c.hired FROM c JOIN departments d ON d.id = c.department_id
            WHERE c.hired * (SELECT COUNT(*) FROM departments) > (SELECT SUM(hired) FROM c)
            ORDER BY c.hired DESC, d.id;`,
    },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Wall time in ms of `sqlite3 dbFile sql`, and its output. */
function sqlite3(dbFile: string, sql: string): { ms: number; output: string } {
  const start = performance.now();
  const output = execFileSync('sqlite3', [dbFile, sql], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ms: performance.now() - start, output };
}

function hasSqlite3(): boolean {
  try {
    execFileSync('sqlite3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** GET `url` once: wall time in ms and the number of rows. One retry if a kept-alive socket was closed by the host meanwhile. */
async function call(url: string, retry = true): Promise<{ ms: number; rows: number }> {
  const start = performance.now();
  let res: Response;
  try {
    res = await fetch(url);
  } catch (error) {
    if (retry) return call(url, false);
    throw error;
  }
  const body = (await res.json()) as { rows: unknown[] };
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return { ms, rows: body.rows.length };
}

/** Runs the metrics benchmark against a host at `url` whose SQLite file is `dbFile`; result lines (name, value). */
export async function benchMetrics(url: string, dbFile: string): Promise<[string, string][]> {
  const queries = plainSql();
  // The HTTP calls first, then the sqlite3 runs, so that neither waits on the other.
  const endpoints: { ms: number; rows: number }[] = [];
  for (const { route } of queries) {
    console.log(`Timing ${route} (${CALLS} calls) ...`);
    const { rows } = await call(url + route); // warm-up
    const times: number[] = [];
    for (let i = 0; i < CALLS; i++) times.push((await call(url + route)).ms);
    endpoints.push({ ms: median(times), rows });
  }

  const results: [string, string][] = [];
  const cli = hasSqlite3();
  let startup = 0;
  if (cli) {
    console.log(`Timing the same queries with the sqlite3 command (${CALLS} runs each) ...`);
    sqlite3(dbFile, 'SELECT 1');
    startup = median(Array.from({ length: CALLS }, () => sqlite3(dbFile, 'SELECT 1').ms));
  }
  queries.forEach(({ name, sql }, i) => {
    const endpoint = endpoints[i];
    results.push([
      `${name}: endpoint`,
      `median ${endpoint.ms.toFixed(1)} ms over ${CALLS} calls, ${endpoint.rows} rows (target < 1000 ms)`,
    ]);
    if (!cli) {
      results.push([`${name}: plain SQL`, 'skipped: no sqlite3 command']);
      return;
    }
    const first = sqlite3(dbFile, sql); // warm-up, and the same answer?
    const sqlRows = first.output.split('\n').filter((line) => line !== '').length;
    if (sqlRows !== endpoint.rows) throw new Error(`${name}: the plain SQL gives ${sqlRows} rows, the endpoint ${endpoint.rows}`);
    const query = median(Array.from({ length: CALLS }, () => sqlite3(dbFile, sql).ms));
    const sqlMs = Math.max(0.1, query - startup);
    results.push([
      `${name}: plain SQL`,
      `${sqlMs.toFixed(1)} ms (sqlite3 median ${query.toFixed(1)} ms - startup ${startup.toFixed(1)} ms)`,
    ]);
    results.push([`${name}: ratio`, `${(endpoint.ms / sqlMs).toFixed(2)}x (target <= 1.5x)`]);
  });
  return results;
}
