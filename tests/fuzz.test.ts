/**
 * A seeded fuzz test of the batch and load endpoints over real HTTP: random and mutated CSV and
 * JSON bodies, content types and query strings, bounded in count and time. Every answer is a
 * JSON error (4xx) or counted result, never a 500; and what the table gained is exactly what the
 * answer says was inserted: no partial write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv, postJson, request, startHost, tableCounts, type HostHandle } from './helpers/localHost';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const REQUESTS = 600;
const BUDGET_MS = 45_000;

let host: HostHandle;
beforeAll(async () => {
  host = await startHost();
  await postJson(host.url, '/api/tables/departments/rows', [
    { id: 1, department: 'Support' },
    { id: 2, department: 'Sales' },
  ]);
  await postJson(host.url, '/api/tables/jobs/rows', [{ id: 1, job: 'Analyst' }]);
});
afterAll(async () => {
  await host?.stop();
});

function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}

const PIECES = [
  '1',
  '2',
  '99',
  '-1',
  '0',
  '2147483648',
  '00012',
  'Ada',
  '',
  ' ',
  '"',
  '""',
  '"a,b"',
  ',',
  ';',
  '\t',
  '\r\n',
  '\n',
  '\u0000',
  '\uFFFD',
  '😀',
  '2021-07-27T16:02:08Z',
  '2021-02-30T00:00:00Z',
  '2021-07-27 16:02:08',
  '+25:00',
  'null',
  '[',
  ']',
  '{',
  '}',
  '\\',
  'x'.repeat(300),
];

describe(`fuzzing the ingest endpoints (seed ${SEED})`, () => {
  it('answers every request with a JSON error or counted result, never a 500, and writes exactly what it reports', async () => {
    const random = generator(SEED);
    const started = Date.now();
    let sent = 0;
    const statuses = new Map<number, number>();
    for (; sent < REQUESTS && Date.now() - started < BUDGET_MS; sent++) {
      const table = random.pick(['departments', 'jobs', 'hired_employees', 'hired_employees', 'nope']);
      const route = `/api/tables/${table}/${random.pick(['rows', 'load'])}${random.pick(['', '', '', '', '?dryRun=true', '?dryRun=true', '?dryrun=true', '?limit=5', '?dryRun=maybe', '?dryRun=true&dryRun=false'])}`;
      const csv = () =>
        Array.from({ length: random.int(6) }, () =>
          Array.from({ length: random.int(7) }, () => Array.from({ length: 1 + random.int(3) }, () => random.pick(PIECES)).join('')).join(
            ',',
          ),
        ).join(random.pick(['\n', '\r\n']));
      const json = () => {
        const rows = Array.from({ length: random.int(5) }, () => {
          const row: Record<string, unknown> = {
            id: random.pick([random.int(50), String(random.int(50)), null, 1.5, -3, 'x', [1], { a: 1 }]),
          };
          for (const key of random.pick([['department'], ['job'], ['name', 'datetime', 'department_id', 'job_id'], ['extra'], []]))
            row[key] = random.pick([random.pick(PIECES), random.int(3), null, true]);
          return row;
        });
        const text = JSON.stringify(rows);
        // Mutations: cut, duplicated, or a byte changed.
        return random.pick([
          text,
          text.slice(0, random.int(text.length + 1)),
          text + text,
          text.replace(/.$/, random.pick(PIECES)),
          '[' + '['.repeat(random.int(60)) + ']'.repeat(random.int(60)) + ']',
        ]);
      };
      const contentType = random.pick([
        'text/csv',
        'text/csv',
        'application/json',
        'application/json',
        'text/plain',
        'text/csv; charset=utf-16le',
        'text/csv; charset=windows-1252',
        'application/json; charset=utf-8',
        '',
      ]);
      const body = random.next() < 0.5 ? csv() : json();
      const before = table === 'nope' ? undefined : (await tableCounts(host.url))[table];
      const res =
        contentType === ''
          ? await request(host.url + route, { method: 'POST', body })
          : contentType.startsWith('application/json')
            ? await postJson(host.url, route, body, contentType)
            : await postCsv(host.url, route, body, contentType);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const what = `${route} ${contentType} ${JSON.stringify(body).slice(0, 300)} -> ${res.status} ${res.text.slice(0, 300)}`;
      expect(res.status, what).toBeLessThan(500);
      expect(res.body, what).toBeTypeOf('object');
      const after = table === 'nope' ? undefined : (await tableCounts(host.url))[table];
      if (res.status === 200) {
        expect(res.body.received, what).toBe(res.body.inserted + res.body.skipped + res.body.rejected);
        expect(after! - before!, what).toBe(res.body.dryRun ? 0 : res.body.inserted);
      } else {
        expect(res.body.error?.code, what).toBeTypeOf('string');
        expect(after, what).toBe(before);
      }
    }
    console.log(
      `fuzz (seed ${SEED}): ${sent} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(sent).toBeGreaterThan(50);
  }, 90_000);
});
