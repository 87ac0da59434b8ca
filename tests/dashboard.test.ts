/**
 * The dashboard and console in a real browser (Debian's chromium, driven by playwright-core)
 * against the local host loaded with the customer's files (generated ones where they are absent):
 * what the page shows is what the API answers. Screenshots of each view go to test-artifacts/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeDataset } from '../tools/datagen';
import { backupOne, listBackups } from './helpers/backups';
import { hasChallengeFiles, loadChallengeFile } from './helpers/challenge';
import {
  allRows,
  get,
  postFile,
  postJson,
  removeDir,
  request,
  ROOT,
  startHost,
  tableCounts,
  tempDir,
  type HostHandle,
} from './helpers/localHost';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`dashboard tests skipped: ${CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)`);
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

let host: HostHandle;
let dataDir: string;

/** The customer's files where they are, else a generated set of the same shape (12 departments, 183 jobs). */
async function loadStartingData(): Promise<void> {
  for (const table of ['departments', 'jobs', 'hired_employees']) {
    const res = hasChallengeFiles
      ? await loadChallengeFile(host.url, table)
      : await postFile(host.url, `/api/tables/${table}/load`, path.join(dataDir, `${table}.csv`));
    expect(res.status, res.text).toBe(200);
  }
}

describe('the dashboard over HTTP', () => {
  beforeAll(async () => {
    host = await startHost();
  });
  afterAll(async () => {
    await host?.stop();
    removeDir(host?.dataDir);
  });

  it('serves the page at /api/dashboard, with or without a slash, its assets beside it, and nothing else', async () => {
    // npm start says where it is, at the end of its banner, which may still be arriving when the host is seen ready.
    await vi.waitFor(() => expect(host.output()).toContain(`Dashboard and console: ${host.url}/api/dashboard\n`), { timeout: 5_000 });
    for (const route of ['/api/dashboard', '/api/dashboard/', '/api/dashboard/index.html']) {
      const page = await get(host.url, route);
      expect(page.status, route).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.text).toContain('<base href="/api/dashboard/" />');
    }
    const page = await get(host.url, '/api/dashboard');
    const assets = [...page.text.matchAll(/(?:src|href)="(app-[\w]+\.(?:js|css))"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const res = await get(host.url, `/api/dashboard/${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(res.text.length).toBeGreaterThan(1000);
    }
    // No CDN: the script loads nothing from another origin.
    const script = await get(host.url, `/api/dashboard/${assets.find((a) => a.endsWith('.js'))}`);
    expect(script.text).not.toMatch(/https?:\/\/(cdn|unpkg|esm\.sh|jsdelivr)/);
    for (const name of ['missing.js', '..%2Fpackage.json', '..%2F..%2Fhost.json', 'index.js', 'app.js.map']) {
      const res = await get(host.url, `/api/dashboard/${name}`);
      expect(res.status, name).toBe(404);
      expect(res.body.error.code, name).toBe('asset_not_found');
    }
  });

  it("passes the page's ?code= on to its assets, escaped", async () => {
    const page = await get(host.url, `/api/dashboard?code=${encodeURIComponent(`k"e<y>&'$&`)}`);
    expect(page.text).toMatch(/src="app-\w+\.js\?code=k%22e%3Cy%3E%26&#39;%24%26"/);
    expect(page.text).not.toContain('k"e<y>');
  });
});

describe.skipIf(!hasChromium)('the dashboard in a browser', () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  /** Every request the page made, with the key it sent. */
  const requests: { url: string; method: string; key: string | undefined }[] = [];

  beforeAll(async () => {
    dataDir = tempDir('dashboard-data-');
    if (!hasChallengeFiles) await writeDataset(dataDir, { rows: 2000, seed: 17, invalidRate: 0.03 });
    // A share of a load ends, and commits its progress, every second: the bar moves within a short load.
    host = await startHost({ LOAD_WORKER_SECONDS: '1' });
    await loadStartingData();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    // The test reads numbers and instants as an English reader in UTC sees them.
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), key: r.headers()['x-functions-key'] }));
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))",
    );
    page.on('console', (m) => {
      if (m.type() === 'error' && m.text().startsWith('CSP violation')) pageErrors.push(m.text());
    });
  }, 120_000);
  afterEach(() => {
    // No script error, no CSP violation, and nothing asked of another origin, in any view.
    expect(pageErrors).toEqual([]);
    expect(requests.filter((r) => !r.url.startsWith(host.url) && !r.url.startsWith('data:'))).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    removeDir(host?.dataDir);
    removeDir(dataDir);
  });

  it("metrics: one bar per department above the mean with the API's numbers, the mean as a line, and the quarter table equal to the API's rows", async () => {
    const years = (await get(host.url, '/api/metrics/years')).body.years as { year: number; hired: number }[];
    const year = years.some((y) => y.year === 2021) ? 2021 : years.at(-1)!.year;
    requests.length = 0;
    await page.goto(`${host.url}/api/dashboard?code=test-key#metrics`);
    await page.getByRole('img', { name: `Departments above the mean in ${year}` }).waitFor();

    // The year picker offers the years that have hires.
    const options = await page.getByLabel('Year').locator('option').allTextContents();
    expect(options).toEqual(years.map((y) => `${y.year} (${y.hired.toLocaleString('en-US')} hires)`));

    const aboveMean = (await get(host.url, `/api/metrics/departments-above-mean?year=${year}`)).body;
    expect(aboveMean.rows.length).toBeGreaterThan(0);
    const chart = page.locator('#dam-chart svg');
    const bars = await chart.locator('g[aria-label="bar"] rect').evaluateAll((rects) => rects.map((r) => r.getAttribute('aria-label')));
    expect(bars.sort()).toEqual(aboveMean.rows.map((r: any) => `${r.department}: ${r.hired} hires`).sort());
    const labels = await chart.locator('g[aria-label="text"] text').allTextContents();
    for (const row of aboveMean.rows) expect(labels).toContain(row.hired.toLocaleString('en-US'));
    const mean = aboveMean.mean.toLocaleString('en-US', { maximumFractionDigits: 2 });
    expect(await chart.locator('g[aria-label="rule"] line').getAttribute('aria-label')).toBe(`mean ${mean}`);
    expect(labels).toContain(`mean ${mean}`);
    // Drawn to scale: every bar starts at 0 and its length is its hires; the mean's line is where the mean is.
    const geometry = await chart.evaluate((svg) => ({
      bars: [...svg.querySelectorAll('g[aria-label="bar"] rect')].map((r) => ({
        label: r.getAttribute('aria-label'),
        x: Number(r.getAttribute('x')),
        width: Number(r.getAttribute('width')),
      })),
      rule: Number(svg.querySelector('g[aria-label="rule"] line')!.getAttribute('x1')),
    }));
    const widest = Math.max(...aboveMean.rows.map((r: any) => r.hired));
    const unit = Math.max(...geometry.bars.map((b) => b.width)) / widest;
    for (const row of aboveMean.rows) {
      const bar = geometry.bars.find((b) => b.label === `${row.department}: ${row.hired} hires`)!;
      expect(bar.x).toBeCloseTo(geometry.bars[0].x, 1);
      expect(bar.width).toBeCloseTo(row.hired * unit, 0);
    }
    expect(geometry.rule - geometry.bars[0].x).toBeCloseTo(aboveMean.mean * unit, 0);
    // The same numbers as a table beside the chart.
    const damCells = await page
      .locator('#dam-table tbody tr')
      .evaluateAll((rows) => rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(damCells).toEqual(aboveMean.rows.map((r: any) => [r.department, r.hired.toLocaleString('en-US')]));

    const quarters = (await get(host.url, `/api/metrics/hires-by-quarter?year=${year}`)).body.rows;
    const cells = await page
      .locator('#hbq-table tbody tr')
      .evaluateAll((rows) => rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(cells).toEqual(
      quarters.map((r: any) => [r.department, r.job, ...[r.Q1, r.Q2, r.Q3, r.Q4].map((n: number) => n.toLocaleString('en-US'))]),
    );
    // Hires per quarter per department: one bar for each of the year's departments and quarters.
    const departments = new Set(quarters.map((r: any) => r.department));
    expect(await page.locator('#hbq-chart svg g[aria-label="bar"] rect').count()).toBe(departments.size * 4);

    // The downloads are the API's CSV files, the key passed on in their links.
    for (const [name, route] of [
      ['Download the departments above the mean as CSV', 'departments-above-mean'],
      ['Download the hires by quarter as CSV', 'hires-by-quarter'],
    ]) {
      const href = await page.getByRole('link', { name }).getAttribute('href');
      expect(new URL(href!).searchParams.get('code')).toBe('test-key');
      expect((await request(href!)).text).toBe((await get(host.url, `/api/metrics/${route}?year=${year}&format=csv`)).text);
    }
    // Every request of the page carried the key: the assets in their query, the API calls as a header.
    const assets = requests.filter((r) => r.url.includes('/api/dashboard/app-'));
    expect(assets).toHaveLength(2);
    for (const asset of assets) expect(new URL(asset.url).searchParams.get('code')).toBe('test-key');
    const calls = requests.filter((r) => /\/api\/(metrics|tables|runs)/.test(r.url));
    expect(calls.length).toBeGreaterThan(2);
    for (const call of calls) expect(call.key, call.url).toBe('test-key');

    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-metrics.png'), fullPage: true });
  });

  it('metrics: picking another year shows that year', async () => {
    const years = (await get(host.url, '/api/metrics/years')).body.years as { year: number }[];
    expect(years.length, 'the data spans two years at least').toBeGreaterThan(1);
    const other = years[0].year;
    await page.getByLabel('Year').selectOption(String(other));
    await page.getByRole('img', { name: `Departments above the mean in ${other}` }).waitFor();
    expect(page.url()).toMatch(new RegExp(`#metrics/${other}$`));
    const rows = (await get(host.url, `/api/metrics/hires-by-quarter?year=${other}`)).body.rows;
    expect(await page.locator('#hbq-table tbody tr').count()).toBe(rows.length);
  });

  it("operations: row counts, a run's rejections with reasons and the file to fix", async () => {
    await page.goto(`${host.url}/api/dashboard#operations`);
    const counts = await tableCounts(host.url);
    for (const [table, rows] of Object.entries(counts)) {
      await expect.poll(() => page.locator(`#tables-table tr[data-table="${table}"] td`).textContent()).toBe(rows.toLocaleString('en-US'));
    }
    const runs = (await get(host.url, '/api/runs?table=hired_employees&kind=load')).body.runs;
    const load = runs.at(-1);
    expect(load.rejected).toBeGreaterThan(0);
    await page.getByRole('button', { name: `Show the ${load.rejected} rejections of run ${load.runId}` }).click();
    const shown = page.locator('#rejections-table tbody tr');
    await expect.poll(() => shown.count()).toBe(Math.min(100, load.rejected));
    const first = (await get(host.url, `/api/rejections?runId=${load.runId}&limit=1`)).body.rejections[0];
    expect(await shown.first().locator('td').nth(0).textContent()).toBe(String(first.position));
    expect(await shown.first().locator('li').allTextContents()).toEqual(
      first.reasons.map((r: any) => (r.field ? `${r.field}: ${r.message}` : r.message)),
    );
    const href = await page.getByRole('link', { name: 'Download to fix' }).getAttribute('href');
    expect((await request(href!)).text).toBe((await get(host.url, `/api/rejections?runId=${load.runId}&format=csv`)).text);
  });

  it('operations: a load started elsewhere shows its progress and ends succeeded', async () => {
    await page.goto(`${host.url}/api/dashboard#operations`);
    const dir = tempDir('dashboard-load-');
    try {
      // Several seconds of loading at this machine's rate, so that the console's one-second ticks see the bar move.
      await writeDataset(dir, { rows: 3_000_000, seed: 5, firstId: 100_000, invalidRate: 0 });
      const historic = BlobServiceClient.fromConnectionString(host.storageConnection!).getContainerClient('historic');
      await historic.createIfNotExists();
      await historic.getBlockBlobClient('dashboard/hired_employees.csv').uploadFile(path.join(dir, 'hired_employees.csv'));
      const queued = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'dashboard/hired_employees.csv' });
      expect(queued.status, queued.text).toBe(202);
      const row = page.locator(`#runs-table tr[data-run="${queued.body.runId}"]`);
      await row.locator('progress').waitFor({ timeout: 60_000 });
      // The bar moves: two values strictly between 0 and 100, rising, are seen before the load ends.
      const seen: number[] = [];
      const deadline = Date.now() + 120_000;
      while ((await row.locator('td.status').textContent()) !== 'succeeded' && Date.now() < deadline) {
        const value = await row.locator('progress').evaluateAll((bars) => bars.map((b) => (b as unknown as { value: number }).value));
        const before = seen.length;
        seen.push(...value.filter((v) => v > 0 && v < 100 && v !== seen.at(-1)));
        // Taken at the bar's second step, when the row counts have caught up with it too.
        if (before === 1 && seen.length === 2)
          await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-operations-load.png'), fullPage: true });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(seen.length, `progress values between 0 and 100: ${seen.join(', ')}`).toBeGreaterThan(1);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(await row.locator('td.status').textContent()).toBe('succeeded');
      expect(await row.locator('progress').count()).toBe(0);
      const counts = await tableCounts(host.url);
      await expect
        .poll(() => page.locator('#tables-table tr[data-table="hired_employees"] td').textContent())
        .toBe(counts.hired_employees.toLocaleString('en-US'));
    } finally {
      removeDir(dir);
    }
  }, 180_000);

  it('operations: a restore from the console asks first, needs the admin key, shows its safety backup and round-trips', async () => {
    const backup = await backupOne(host.url, 'jobs');
    const before = await allRows(host.url, 'jobs');
    expect((await postJson(host.url, '/api/tables/jobs/rows', [{ id: 9000, job: 'Added after the backup' }])).body.inserted).toBe(1);
    await page.goto(`${host.url}/api/dashboard#operations`);
    await page.reload();
    const restoreButton = page.getByRole('button', { name: `Restore ${backup.backup}` });
    await restoreButton.waitFor();

    // Without the admin key nothing is asked or done but a message.
    await page.getByLabel('Admin key').fill('');
    await page.getByLabel('Admin key').press('Tab');
    await restoreButton.click();
    await expect.poll(() => page.locator('#restore-result').textContent()).toMatch(/admin key/);
    expect(await page.locator('#confirm-restore').isVisible()).toBe(false);
    expect((await allRows(host.url, 'jobs')).length).toBe(before.length + 1);

    // Cancelled: nothing either.
    await page.getByLabel('Admin key').fill('local-admin-key');
    await page.getByLabel('Admin key').press('Tab');
    await restoreButton.click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await allRows(host.url, 'jobs')).length).toBe(before.length + 1);

    await restoreButton.click();
    expect(await page.locator('#confirm-text').textContent()).toBe(`Replace every row of jobs with the backup ${backup.backup}?`);
    requests.length = 0;
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await expect
      .poll(() => page.locator('#restore-result').textContent(), { timeout: 30_000 })
      .toMatch(
        new RegExp(
          `^Restored jobs: ${before.length} rows from ${backup.backup} \\(there were ${before.length + 1}\\)\\. Safety backup: (jobs/\\S+\\.avro)\\.$`,
        ),
      );
    expect(await allRows(host.url, 'jobs')).toEqual(before);
    // The restore went with the admin key, as a header, never in the URL.
    const posted = requests.filter((r) => r.method === 'POST');
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ key: 'local-admin-key' });
    expect(new URL(posted[0].url).pathname).toBe('/api/tables/jobs/restore');
    expect(new URL(posted[0].url).search).toBe('');
    const safety = /Safety backup: (\S+)\.$/.exec((await page.locator('#restore-result').textContent())!)![1];
    const backups = await listBackups(host.url, 'jobs');
    expect(backups.find((b) => b.backup === safety)).toMatchObject({ kind: 'safety', rows: before.length + 1 });
    await page.getByRole('button', { name: `Restore ${safety}` }).waitFor();
    // The admin key stays for this tab's session only.
    expect(await page.evaluate("sessionStorage.getItem('csv2sql.adminKey')")).toBe('local-admin-key');
    expect(await page.evaluate('document.cookie + localStorage.length')).toBe('0');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-operations.png'), fullPage: true });
  }, 60_000);
});
