/**
 * Hostile input against the local host, with its memory measured where memory is the point: a
 * 2 GB file that is one line is rejected as one record, and the load goes on, within 200 MB.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peakRssKib, resetPeakRss } from '../bench/processMemory';
import { get, loadBlob, postCsv, postJson, readApiResponse, startHost, tableCounts, type HostHandle } from './helpers/localHost';
import { container } from './helpers/backups';

let host: HostHandle;
beforeAll(async () => {
  host = await startHost();
});
afterAll(async () => {
  await host?.stop();
});

/** Streams `count` chunks of `chunk`, then `tail`, as a text/csv load; never holds more than a chunk. */
function streamLoad(route: string, chunk: Buffer, count: number, tail: string) {
  return new Promise<Awaited<ReturnType<typeof readApiResponse>>>((resolve, reject) => {
    const req = http.request(host.url + route, { method: 'POST', headers: { 'content-type': 'text/csv' } }, (res) =>
      readApiResponse(res).then(resolve, reject),
    );
    req.on('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < count) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end(tail);
    };
    write();
  });
}

describe('a load of a 2 GB file that is a single line', () => {
  it('rejects it as one record_too_long row, loads the line after it, and the host stays under 200 MB', async () => {
    resetPeakRss(host.process.pid!);
    const started = Date.now();
    const res = await streamLoad('/api/tables/departments/load', Buffer.alloc(1024 * 1024, 'x'), 2048, '\n7,After the long line\n');
    const peakMb = peakRssKib(host.process.pid!) / 1024;
    console.log(`2 GB single line: ${((Date.now() - started) / 1000).toFixed(1)} s, host peak RSS ${peakMb.toFixed(0)} MB`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 2, inserted: 1, rejected: 1, status: 'succeeded' });
    expect((await tableCounts(host.url)).departments).toBe(1);
    expect(peakMb).toBeLessThan(200);
  }, 300_000);
});

describe('what is stored and logged of a rejected row', () => {
  it('at most 64 Ki characters of its text, with a reason saying so; the log has a summary line and never the data', async () => {
    const secret = 'Zebulon Quixote-Secretname';
    const long = 'y'.repeat(100_000);
    const res = await postJson(host.url, '/api/tables/hired_employees/rows', [
      { id: 1, name: secret, datetime: '2021-02-30T00:00:00Z', department_id: 1, job_id: 1 },
      { id: 2, name: long, datetime: '2021-01-01T00:00:00Z', department_id: 1, job_id: 1 },
    ]);
    expect(res.status, res.text).toBe(200);
    expect(res.body.rejected).toBe(2);
    const stored = (await get(host.url, `/api/rejections?runId=${res.body.runId}`)).body.rejections;
    expect(stored[1].rawText).toHaveLength(64 * 1024);
    expect(stored[1].reasons.at(-1)).toEqual({
      field: null,
      message: expect.stringMatching(/^only the first 65536 of its 1000\d\d characters are kept$/),
    });
    await new Promise((r) => setTimeout(r, 200)); // the log line is written after the response
    const log = host.output();
    expect(log).not.toContain(secret);
    expect(log).toContain(`batch ${res.body.runId} into hired_employees: received 2, inserted 0, skipped 0, rejected 2; reasons: `);
  });
});

describe('a file that is clearly not this table’s format', () => {
  it('loads nothing and says what the file looks like, with the reasons counted', async () => {
    const res = await postCsv(host.url, '/api/tables/jobs/load', '1;Analyst\n2;Manager\n3;Clerk\n');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 3, inserted: 0, rejected: 3, status: 'succeeded' });
    expect(res.body.warning).toMatch(/semicolon-separated/);
    expect(res.body.reasons).toEqual([{ reason: 'row: expected N fields (id,job), got N', rows: 3 }]);
    const run = await get(host.url, `/api/runs/${res.body.runId}`);
    expect(run.body).toMatchObject({ warning: res.body.warning, reasons: res.body.reasons });
    const trailing = await postCsv(host.url, '/api/tables/jobs/load', '1,Analyst,\n2,Manager,\n');
    expect(trailing.body.warning).toMatch(/trailing comma/);
    const fine = await postCsv(host.url, '/api/tables/jobs/load', '1,Analyst\n2,Manager;Lead\n');
    expect(fine.body.warning).toBeUndefined();
  });
});

describe('requests a web page could forge', () => {
  it('the local host answers only to loopback host names (no DNS rebinding)', async () => {
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${host.url}/api/tables`, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status({ host: 'attacker.example' })).toBe(421);
    expect(await status({ host: 'attacker.example:7071' })).toBe(421);
    expect(await status({ host: `localhost:${new URL(host.url).port}` })).toBe(200);
    expect(await status({ host: `[::1]:${new URL(host.url).port}` })).toBe(200);
  });

  it('every POST needs a JSON or CSV content type: a form or a bodiless fetch from another site is 415 and does nothing', async () => {
    for (const init of [
      {},
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' },
      { headers: { 'content-type': 'text/plain' }, body: '{}' },
    ]) {
      for (const route of ['/api/backups', '/api/tables/jobs/restore', '/api/restore']) {
        const res = await fetch(host.url + route, { method: 'POST', ...init });
        expect(res.status, `${route} ${JSON.stringify(init)}`).toBe(415);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
      }
    }
    expect((await get(host.url, '/api/runs?kind=restore')).body.runs).toEqual([]);
  });
});

describe('encodings', () => {
  const text = '101,Café Müller\r\n102,Ærø Økonomi\r\n';
  const utf16le = (s: string) => Buffer.from(s, 'utf16le');

  it('UTF-16 with a byte-order mark (Excel\'s "Unicode text") and a declared Windows-1252 load as the same text', async () => {
    const excel = await postCsv(host.url, '/api/tables/departments/load', Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(text)]));
    expect(excel.status, excel.text).toBe(200);
    expect(excel.body).toMatchObject({ received: 2, inserted: 2, rejected: 0 });
    const latin = Buffer.from('103,Caf\xe9 Ol\xe9\r\n', 'latin1');
    const declared = await postCsv(host.url, '/api/tables/departments/load', latin, 'text/csv; charset=windows-1252');
    expect(declared.body).toMatchObject({ inserted: 1, rejected: 0 });
    const batch = await postCsv(host.url, '/api/tables/departments/rows', utf16le('104,Ünïcödé\r\n'), 'text/csv; charset=UTF-16LE');
    expect(batch.body).toMatchObject({ inserted: 1, rejected: 0 });
    const rows = (await get(host.url, '/api/tables/departments/rows?afterId=100&limit=10')).body.rows;
    expect(rows).toEqual([
      { id: 101, department: 'Café Müller' },
      { id: 102, department: 'Ærø Økonomi' },
      { id: 103, department: 'Café Olé' },
      { id: 104, department: 'Ünïcödé' },
    ]);
  });

  it('what cannot be decoded is a 415 that says how to convert it, and nothing is loaded', async () => {
    const before = await tableCounts(host.url);
    const unknown = await postCsv(host.url, '/api/tables/departments/load', '105,x\n', 'text/csv; charset=ebcdic-cp-us');
    expect(unknown.status).toBe(415);
    expect(unknown.body.error).toMatchObject({
      code: 'unsupported_charset',
      message: expect.stringMatching(/iconv -f ebcdic-cp-us -t utf-8/),
    });
    for (const text of ['105,Without a mark\r\n', '105,With an emoji 😀 and Ā\r\n'.repeat(20)]) {
      const noBom = await postCsv(host.url, '/api/tables/departments/load', utf16le(text));
      expect(noBom.status).toBe(415);
      expect(noBom.body.error.message).toMatch(/UTF-16 without a byte-order mark/);
    }
    const json = await postCsv(host.url, '/api/tables/departments/rows', utf16le('[]'), 'application/json; charset=utf-16le');
    expect(json.status).toBe(415);
    expect(await tableCounts(host.url)).toEqual(before);
  });

  it('a blob says its encoding by a "charset" field or by its content type', async () => {
    const historic = container(host.storageConnection!, 'historic');
    await historic
      .getBlockBlobClient('enc/typed.csv')
      .uploadData(Buffer.from('106,Gar\xe7on\r\n', 'latin1'), { blobHTTPHeaders: { blobContentType: 'text/csv; charset=windows-1252' } });
    await historic.getBlockBlobClient('enc/plain.csv').uploadData(Buffer.from('107,Na\xefve\r\n', 'latin1'));
    const typed = await loadBlob(host.url, 'departments', { blob: 'enc/typed.csv' });
    expect(typed.body).toMatchObject({ inserted: 1, rejected: 0 });
    const field = await loadBlob(host.url, 'departments', { blob: 'enc/plain.csv', charset: 'iso-8859-1' });
    expect(field.body).toMatchObject({ inserted: 1, rejected: 0 });
    const rows = (await get(host.url, '/api/tables/departments/rows?afterId=105&limit=10')).body.rows;
    expect(rows).toEqual([
      { id: 106, department: 'Garçon' },
      { id: 107, department: 'Naïve' },
    ]);
  });
});
