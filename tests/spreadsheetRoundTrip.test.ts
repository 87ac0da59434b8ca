/**
 * The fix-and-resend loop through a real spreadsheet: LibreOffice (Debian's libreoffice-calc)
 * opens the rejections download, saves it as CSV, and the file goes back to /load. Formulas
 * never run (a rejected name `=HYPERLINK(...)` stays text), and what reaches the rules is what was
 * rejected, as fixed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, postCsv, postJson, removeDir, startHost, tempDir, type HostHandle } from './helpers/localHost';

const soffice = spawnSync('soffice', ['--version'], { encoding: 'utf8' }).status === 0;
const NAMES = ['=HYPERLINK("http://example.com","x")', '+1 555 0100', '-Dash', '@handle', 'Zoë 😀 Müller', '=1+1', 'Plain, "quoted" name'];

let host: HostHandle;
let work: string;
beforeAll(async () => {
  if (!soffice) return;
  host = await startHost();
  work = tempDir('spreadsheet-');
});
afterAll(async () => {
  await host?.stop();
  removeDir(work);
});

/**
 * Opens the file in LibreOffice as its import dialog offers it (comma, double quotes, UTF-8: the
 * headless import has no dialog and would assume the machine's locale), then saves it as CSV
 * (UTF-8, comma, quotes as needed), as a person would.
 */
function throughSpreadsheet(file: string): string {
  const profile = `-env:UserInstallation=file://${path.join(work, 'profile')}`;
  execFileSync(
    'soffice',
    [profile, '--headless', '--infilter=CSV:44,34,76,1', '--convert-to', 'ods', '--outdir', path.join(work, 'ods'), file],
    { stdio: 'ignore', timeout: 120_000 },
  );
  const ods = path.join(work, 'ods', path.basename(file).replace(/\.csv$/, '.ods'));
  execFileSync(
    'soffice',
    [profile, '--headless', '--convert-to', 'csv:Text - txt - csv (StarCalc):44,34,76,1', '--outdir', path.join(work, 'back'), ods],
    { stdio: 'ignore', timeout: 120_000 },
  );
  return fs.readFileSync(path.join(work, 'back', path.basename(file)), 'utf8');
}

if (!soffice) {
  describe('the rejections download through LibreOffice and back', () => {
    it.skip("skipped: no soffice command (Debian's libreoffice-calc or libreoffice-calc-nogui; .ci/run installs it)", () => {});
  });
}

describe.runIf(soffice)('the rejections download through LibreOffice and back', () => {
  it('no formula runs, and the fixed file loads the original values', async () => {
    if (!soffice) return;
    await postJson(host.url, '/api/tables/departments/rows', [{ id: 1, department: '=1+1' }]);
    await postJson(host.url, '/api/tables/jobs/rows', [{ id: 1, job: 'Analyst' }]);
    const rows = NAMES.map((name, i) => ({ id: 100 + i, name, datetime: '2021-07-27T16:02:08Z', department_id: 99, job_id: 1 }));
    const sent = await postJson(host.url, '/api/tables/hired_employees/rows', rows);
    expect(sent.body.rejected).toBe(NAMES.length);

    // The bytes as downloaded: they begin with a UTF-8 byte-order mark, which tells a spreadsheet the encoding.
    const download = Buffer.from(await (await fetch(`${host.url}/api/rejections?runId=${sent.body.runId}&format=csv`)).arrayBuffer());
    expect([...download.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const file = path.join(work, 'rejections.csv');
    fs.writeFileSync(file, download);
    const back = throughSpreadsheet(file);
    // Saved by the spreadsheet, the would-be formulas are text still: nothing ran.
    expect(back).not.toMatch(/(^|,)x(,|$)/m);
    expect(back).toContain(`'=HYPERLINK(`);

    // The person fixes the department and sends the file back as it is.
    const table = Papa.parse<string[]>(back.trim(), { newline: back.includes('\r\n') ? '\r\n' : '\n' }).data;
    expect(table[0]).toEqual(['id', 'name', 'datetime', 'department_id', 'job_id', 'rejected_because']);
    for (const row of table.slice(1)) row[3] = '1';
    const resent = await postCsv(host.url, '/api/tables/hired_employees/load', Papa.unparse(table, { newline: '\r\n' }));
    expect(resent.status, resent.text).toBe(200);
    expect(resent.body).toMatchObject({ received: NAMES.length, inserted: NAMES.length, rejected: 0 });
    const stored = (await get(host.url, '/api/tables/hired_employees/rows?limit=100')).body.rows;
    expect(stored.map((r: { name: string }) => r.name)).toEqual(NAMES);
    expect(stored.every((r: { datetime: string }) => r.datetime === '2021-07-27T16:02:08.000Z')).toBe(true);

    // The metrics CSV too writes a would-be formula as text.
    const metrics = await get(host.url, '/api/metrics/hires-by-quarter?year=2021&format=csv');
    expect(metrics.headers.get('x-content-type-options')).toBe('nosniff');
    expect(metrics.text).toContain("'=1+1");
  }, 300_000);
});
