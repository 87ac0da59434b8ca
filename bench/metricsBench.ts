/**
 * The metrics endpoints' latency on the benchmark's loaded table, against the plain SQL for the
 * same answer run by the `sqlite3` command.
 *
 * Each endpoint, for each year of the data and one without hires: 20 calls right after a commit
 * (a batch that skips a stored row: the answer is read afresh) and 20 answered again, median wall
 * time over HTTP; the worst year is reported. Plain SQL:
 * the fastest statement for the same answer over the hires themselves, on a copy of the database
 * given the covering index it needs (the former schema's ix_hired_employees_datetime), run 20
 * times by `sqlite3 <copy> "<sql>"`; its time is the median minus the median of 20 runs of
 * `sqlite3 <copy> "SELECT 1"` (the command's own start, open and exit), floored at 0.1 ms. Its
 * output must equal the endpoint's rows, value for value.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { yearBounds } from '../shared/metrics';
import { departmentLines } from '../tools/datagen';

const CALLS = 20;
/** The generated hires' years (tools/datagen.ts), and one without hires. */
const YEARS = [2019, 2020, 2021, 2022];
const PLAIN_SQL_YEAR = 2021;
/** Department 1's name as the generated file has it. */
const DEPARTMENT_1 = departmentLines(1)[0].split(',')[1];

/**
 * The fastest plain SQL found for each answer: the year's range read from the covering index
 * (datetime, department_id, job_id), grouped by ids, names joined onto the groups. (Grouping by one
 * integer key is faster in SQLite's sorter than by two columns; the sqlite3 command runs with
 * SQLite's default 2 MB cache, which also suits the sorter best.)
 */
function plainSql(year: number): { name: string; route: string; sql: string }[] {
  const b = yearBounds(year);
  const range = `datetime BETWEEN ${b.first} AND ${b.last}`;
  return [
    {
      name: 'hires-by-quarter',
      route: '/api/metrics/hires-by-quarter?year=',
      sql: `WITH c AS (SELECT department_id * 2147483648 + job_id AS pair, SUM(datetime < ${b.q2}) AS a, SUM(datetime < ${b.q3}) AS b, SUM(datetime < ${b.q4}) AS c, COUNT(*) AS n
              FROM hired_employees WHERE ${range} GROUP BY pair)
            SELECT d.department, j.job, c.a, c.b - c.a, c.c - c.b, c.n - c.c
            FROM c JOIN departments d ON d.id = c.pair >> 31 JOIN jobs j ON j.id = c.pair & 2147483647
            ORDER BY d.department COLLATE NOCASE, d.department, j.job COLLATE NOCASE, j.job, d.id, j.id;`,
    },
    {
      name: 'departments-above-mean',
      route: '/api/metrics/departments-above-mean?year=',
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

/** A batch of one row already stored: it commits its run and changes nothing else, so the next metric is read afresh. */
async function commitSomething(url: string): Promise<void> {
  const res = await fetch(`${url}/api/tables/departments/rows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ id: 1, department: DEPARTMENT_1 }]),
  });
  const body = (await res.json()) as { skipped?: number };
  if (res.status !== 200 || body.skipped !== 1)
    throw new Error(`the commit between metric calls failed: ${res.status} ${JSON.stringify(body)}`);
}

/** GET `url` once: wall time in ms and the rows. One retry if a kept-alive socket was closed by the host meanwhile. */
async function call(url: string, retry = true): Promise<{ ms: number; rows: Record<string, unknown>[] }> {
  const start = performance.now();
  let res: Response;
  try {
    res = await fetch(url);
  } catch (error) {
    if (retry) return call(url, false);
    throw error;
  }
  const body = (await res.json()) as { rows: Record<string, unknown>[] };
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return { ms, rows: body.rows };
}

/** Runs the metrics benchmark against a host at `url` whose SQLite file is `dbFile`; result lines (name, value). */
export async function benchMetrics(url: string, dbFile: string, work: string): Promise<[string, string][]> {
  const queries = plainSql(PLAIN_SQL_YEAR);
  // The HTTP calls first, then the sqlite3 runs, so that neither waits on the other.
  const endpoints: { ms: number; year: number; afterCommit: { ms: number; year: number }; rows: Record<string, unknown>[] }[] = [];
  for (const { route } of queries) {
    console.log(`Timing ${route}{${YEARS.join(',')}} (${CALLS} calls each) ...`);
    let worst = { ms: 0, year: 0 };
    let worstAfterCommit = { ms: 0, year: 0 };
    let answer: Record<string, unknown>[] = [];
    for (const year of YEARS) {
      const { rows } = await call(url + route + year); // warm-up
      if (year === PLAIN_SQL_YEAR) answer = rows;
      const kept: number[] = [];
      const afterCommit: number[] = [];
      for (let i = 0; i < CALLS; i++) {
        kept.push((await call(url + route + year)).ms);
        await commitSomething(url);
        afterCommit.push((await call(url + route + year)).ms);
      }
      if (median(kept) > worst.ms) worst = { ms: median(kept), year };
      if (median(afterCommit) > worstAfterCommit.ms) worstAfterCommit = { ms: median(afterCommit), year };
    }
    endpoints.push({ ...worst, afterCommit: worstAfterCommit, rows: answer });
  }

  const results: [string, string][] = [];
  const cli = hasSqlite3();
  let startup = 0;
  const copy = path.join(work, 'metrics-plain.sqlite');
  if (cli) {
    console.log(`Timing the same answers in plain SQL with the sqlite3 command (${CALLS} runs each) ...`);
    execFileSync('sqlite3', [dbFile, `.backup ${copy}`]);
    execFileSync('sqlite3', [copy, 'CREATE INDEX ix_plain_datetime ON hired_employees (datetime, department_id, job_id)']);
    sqlite3(copy, 'SELECT 1');
    startup = median(Array.from({ length: CALLS }, () => sqlite3(copy, 'SELECT 1').ms));
  }
  queries.forEach(({ name, sql }, i) => {
    const endpoint = endpoints[i];
    results.push([
      `${name}: endpoint`,
      `median ${endpoint.afterCommit.ms.toFixed(2)} ms right after a commit, ${endpoint.ms.toFixed(2)} ms answered again, in the slowest year (${endpoint.afterCommit.year}, ${endpoint.year}) (target < 10 ms)`,
    ]);
    if (!cli) {
      results.push([`${name}: plain SQL`, 'skipped: no sqlite3 command']);
      return;
    }
    const first = sqlite3(copy, sql); // warm-up, and the same answer?
    const expected = endpoint.rows.map((row) => Object.values(row).join('|'));
    const lines = first.output.split('\n').filter((line) => line !== '');
    if (lines.join('\n') !== expected.join('\n')) throw new Error(`${name}: the plain SQL's answer differs from the endpoint's`);
    const query = median(Array.from({ length: CALLS }, () => sqlite3(copy, sql).ms));
    const sqlMs = Math.max(0.1, query - startup);
    results.push([
      `${name}: plain SQL (${PLAIN_SQL_YEAR})`,
      `${sqlMs.toFixed(1)} ms over a covering index (sqlite3 median ${query.toFixed(1)} ms - startup ${startup.toFixed(1)} ms), same ${lines.length} rows`,
    ]);
    results.push([`${name}: speed-up`, `${(sqlMs / endpoint.afterCommit.ms).toFixed(0)}x faster than the plain SQL, right after a commit`]);
  });
  fs.rmSync(copy, { force: true });
  return results;
}
