/**
 * The backup timer: the function called directly (as the Functions host would) over a temporary
 * SQLite database and an Azurite started here; the local host's NCRONTAB parser; `%SETTING%`
 * resolution in schedules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { NcrontabSchedule } from '../local/ncrontab';
import { resolveSetting } from '../local/timers';
import { removeDir, startAzurite, tempDir } from './helpers/localHost';
import { SCHEMAS, backupNamePattern, container, decodeAvro, downloadBlob, fromAvroRecord, listBlobNames, sha256 } from './helpers/backups';

describe('backupTimer called directly', () => {
  let azurite: Awaited<ReturnType<typeof startAzurite>>;
  let dataDir: string;
  const KEYS = ['DATA_DIR', 'AzureWebJobsStorage', 'BACKUP_STORAGE', 'BACKUP_CONTAINER'] as const;
  const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));

  beforeAll(async () => {
    azurite = await startAzurite();
    dataDir = tempDir();
    process.env.DATA_DIR = dataDir;
    process.env.AzureWebJobsStorage = azurite.connectionString;
    delete process.env.BACKUP_STORAGE;
    process.env.BACKUP_CONTAINER = 'timer-backups';
  });

  afterAll(async () => {
    const { closeServices } = await import('../shared/services');
    await closeServices();
    await azurite?.stop();
    removeDir(dataDir);
    for (const k of KEYS)
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  });

  const timer = (isPastDue: boolean): Timer => ({
    isPastDue,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: '2021-01-01T02:00:00.000Z', next: '2021-01-02T02:00:00.000Z', lastUpdated: '2021-01-01T02:00:00.000Z' },
  });

  /** Runs the timer function and checks that the container then holds exactly one set: a backup of each table and its manifest. */
  async function runAndCheck(containerName: string, isPastDue: boolean): Promise<{ level: string; text: string }[]> {
    const { backupTimer } = await import('../functions/backupTimer');
    const logs: { level: string; text: string }[] = [];
    const context = new InvocationContext({
      functionName: 'backupTimer',
      logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
    });
    const before = Date.now();
    await backupTimer(timer(isPastDue), context);

    const backups = container(azurite.connectionString, containerName);
    const names = await listBlobNames(backups);
    expect(names).toHaveLength(4);
    const manifest = names.find((n) => n.startsWith('sets/'))!;
    expect(manifest).toMatch(/^sets\/\d{8}T\d{9}Z\.json$/);
    const set = JSON.parse((await downloadBlob(backups, manifest)).bytes.toString('utf8'));
    expect(set.tables.map((t: { backup: string }) => t.backup)).toEqual(
      names
        .filter((n) => !n.startsWith('sets/'))
        .sort(
          (a, b) =>
            set.tables.findIndex((t: { backup: string }) => t.backup === a) -
            set.tables.findIndex((t: { backup: string }) => t.backup === b),
        ),
    );
    expect(logs.some((l) => l.text.includes(`backup set ${set.set} written`))).toBe(true);
    for (const table of ['departments', 'jobs', 'hired_employees'] as const) {
      const mine = names.filter((n) => n.startsWith(`${table}/`));
      expect(mine, table).toHaveLength(1);
      expect(mine[0]).toMatch(backupNamePattern(table));
      const { bytes, metadata } = await downloadBlob(backups, mine[0]);
      expect(metadata.sha256).toBe(sha256(bytes));
      const file = await decodeAvro(bytes);
      expect(file.codec).toBe('deflate');
      expect(file.schema.fields).toEqual(SCHEMAS[table].fields);
      expect(file.meta.table).toBe(table);
      expect(Date.parse(file.meta.createdAt)).toBeGreaterThanOrEqual(before - 5);
      expect(metadata.rows).toBe(String(file.records.length));
      if (table === 'departments')
        expect(file.records.map(fromAvroRecord)).toEqual([
          { id: 1, department: 'Sales' },
          { id: 2, department: 'Support' },
        ]);
      else expect(file.records).toEqual([]);
      expect(
        logs.some((l) => l.text.includes(mine[0])),
        `a log line names ${mine[0]}`,
      ).toBe(true);
    }
    return logs;
  }

  it('snapshots every table into BACKUP_CONTAINER, and logs each backup', async () => {
    const { insertRows } = await import('../functions/insertRows');
    const body = '[{"id": 1, "department": "Sales"}, {"id": 2, "department": "Support"}]';
    const inserted = await insertRows(
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost/api/tables/departments/rows',
        headers: { 'content-type': 'application/json' },
        params: { table: 'departments' },
        body: { string: body },
      }),
      new InvocationContext(),
    );
    expect(inserted.status).toBe(200);
    // The container exists here (as `npm start` creates it); the next test starts without it.
    await container(azurite.connectionString, 'timer-backups').create();

    const logs = await runAndCheck('timer-backups', true);
    // a late run is reported
    expect(logs.some((l) => l.level === 'warning')).toBe(true);
    // nothing in the default container
    expect(await container(azurite.connectionString, 'backups').exists()).toBe(false);
  });

  it('works on a storage account where the backups container does not exist yet (as on a new function app)', async () => {
    const { closeServices } = await import('../shared/services');
    await closeServices(); // the next invocation reads the settings again
    process.env.BACKUP_CONTAINER = 'timer-fresh';
    expect(await container(azurite.connectionString, 'timer-fresh').exists()).toBe(false);
    const logs = await runAndCheck('timer-fresh', false);
    expect(logs.some((l) => l.level === 'warning')).toBe(false);
  });
});

describe('NcrontabSchedule', () => {
  const next = (expression: string, after: string) => NcrontabSchedule.parse(expression).next(new Date(after)).toISOString();
  const sequence = (expression: string, after: string, n: number) => {
    const schedule = NcrontabSchedule.parse(expression);
    const out: string[] = [];
    let t = new Date(after);
    for (let i = 0; i < n; i++) out.push((t = schedule.next(t)).toISOString());
    return out;
  };

  it('the default schedule: daily at 02:00 UTC, strictly after the given time', () => {
    expect(next('0 0 2 * * *', '2021-01-01T03:00:00Z')).toBe('2021-01-02T02:00:00.000Z');
    expect(next('0 0 2 * * *', '2021-01-01T01:59:59.999Z')).toBe('2021-01-01T02:00:00.000Z');
    expect(next('0 0 2 * * *', '2021-01-01T02:00:00.000Z')).toBe('2021-01-02T02:00:00.000Z');
    expect(next('0 0 2 * * *', '2021-01-01T02:00:00.500Z')).toBe('2021-01-02T02:00:00.000Z');
    expect(next('0 0 2 * * *', '2021-12-31T03:00:00Z')).toBe('2022-01-01T02:00:00.000Z');
    expect(next('0 0 2 * * *', '2024-02-28T02:00:00Z')).toBe('2024-02-29T02:00:00.000Z');
  });

  it('steps', () => {
    expect(sequence('*/15 * * * * *', '2021-01-01T00:00:07Z', 5)).toEqual([
      '2021-01-01T00:00:15.000Z',
      '2021-01-01T00:00:30.000Z',
      '2021-01-01T00:00:45.000Z',
      '2021-01-01T00:01:00.000Z',
      '2021-01-01T00:01:15.000Z',
    ]);
    expect(next('*/15 * * * * *', '2021-01-01T00:00:15.500Z')).toBe('2021-01-01T00:00:30.000Z');
    expect(next('0 */5 * * * *', '2021-01-01T23:58:00Z')).toBe('2021-01-02T00:00:00.000Z');
    // a-b/n and a/n (from a to the maximum)
    expect(sequence('0 0 9-17/4 * * *', '2021-01-01T00:00:00Z', 4)).toEqual([
      '2021-01-01T09:00:00.000Z',
      '2021-01-01T13:00:00.000Z',
      '2021-01-01T17:00:00.000Z',
      '2021-01-02T09:00:00.000Z',
    ]);
    expect(sequence('0 0 20/2 * * *', '2021-01-01T00:00:00Z', 3)).toEqual([
      '2021-01-01T20:00:00.000Z',
      '2021-01-01T22:00:00.000Z',
      '2021-01-02T20:00:00.000Z',
    ]);
  });

  it('ranges and lists', () => {
    expect(sequence('0 5,35 * * * *', '2021-01-01T10:06:00Z', 3)).toEqual([
      '2021-01-01T10:35:00.000Z',
      '2021-01-01T11:05:00.000Z',
      '2021-01-01T11:35:00.000Z',
    ]);
    expect(sequence('0 0 8-10,22 * * *', '2021-01-01T09:30:00Z', 4)).toEqual([
      '2021-01-01T10:00:00.000Z',
      '2021-01-01T22:00:00.000Z',
      '2021-01-02T08:00:00.000Z',
      '2021-01-02T09:00:00.000Z',
    ]);
    expect(next('10-12 * * * * *', '2021-01-01T00:00:12Z')).toBe('2021-01-01T00:01:10.000Z');
  });

  it('names of days and months, in any case; 0 is Sunday', () => {
    // 2021-01-01 is a Friday
    expect(sequence('0 30 9 * * MON-FRI', '2021-01-01T10:00:00Z', 3)).toEqual([
      '2021-01-04T09:30:00.000Z',
      '2021-01-05T09:30:00.000Z',
      '2021-01-06T09:30:00.000Z',
    ]);
    expect(sequence('0 0 12 * * sat,Sun', '2021-01-01T00:00:00Z', 3)).toEqual([
      '2021-01-02T12:00:00.000Z',
      '2021-01-03T12:00:00.000Z',
      '2021-01-09T12:00:00.000Z',
    ]);
    expect(next('0 0 0 * * 0', '2021-01-01T00:00:00Z')).toBe('2021-01-03T00:00:00.000Z');
    expect(sequence('0 0 0 1 JAN,jul *', '2021-02-01T00:00:00Z', 2)).toEqual(['2021-07-01T00:00:00.000Z', '2022-01-01T00:00:00.000Z']);
    expect(next('0 0 0 1 MAR-MAY *', '2021-05-01T00:00:00Z')).toBe('2022-03-01T00:00:00.000Z');
  });

  it('day 31 skips the months that have no 31st; 29 February waits for a leap year', () => {
    expect(sequence('0 0 0 31 * *', '2021-01-31T00:00:00Z', 4)).toEqual([
      '2021-03-31T00:00:00.000Z',
      '2021-05-31T00:00:00.000Z',
      '2021-07-31T00:00:00.000Z',
      '2021-08-31T00:00:00.000Z',
    ]);
    expect(next('0 0 0 30 * *', '2021-01-30T00:00:00Z')).toBe('2021-03-30T00:00:00.000Z');
    expect(next('0 0 0 29 2 *', '2021-01-01T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
  });

  it('day and day of week both given: both must match, as NCrontab (the Functions host) does', () => {
    // NCrontab's CrontabSchedule.TryGetNextOccurrence finds the next matching day of the month and
    // then requires its day of the week to match too: "0 0 0 13 * FRI" is Friday the 13th only.
    expect(next('0 0 0 13 * FRI', '2021-01-01T00:00:00Z')).toBe('2021-08-13T00:00:00.000Z');
  });

  it('invalid expressions throw', () => {
    const invalid = [
      '',
      '0 0 2 * *', // five fields
      '0 0 2 * * * *', // seven
      '60 * * * * *',
      '* 60 * * * *',
      '* * 24 * * *',
      '* * * 0 * *',
      '* * * 32 * *',
      '* * * * 0 *',
      '* * * * 13 *',
      '* * * * * 8',
      '*/0 * * * * *',
      '*/x * * * * *',
      '5-1 * * * * *',
      'a * * * * *',
      '1,,2 * * * * *',
      '-1 * * * * *',
      '* * * * FOO *',
      '* * * * * MON-',
      '1.5 * * * * *',
    ];
    for (const expression of invalid) expect(() => NcrontabSchedule.parse(expression), JSON.stringify(expression)).toThrow();
    // parses, but never fires
    expect(() => NcrontabSchedule.parse('0 0 0 31 2 *').next(new Date('2021-01-01T00:00:00Z'))).toThrow();
  });
});

describe('resolveSetting', () => {
  const saved = { BACKUP_SCHEDULE: process.env.BACKUP_SCHEDULE, BACKUP_TEST_SETTING: process.env.BACKUP_TEST_SETTING };
  afterAll(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('%NAME% is the app setting, else its documented default; an unknown unset setting throws', () => {
    delete process.env.BACKUP_SCHEDULE;
    expect(resolveSetting('%BACKUP_SCHEDULE%')).toBe('0 0 2 * * *');
    process.env.BACKUP_SCHEDULE = '';
    expect(resolveSetting('%BACKUP_SCHEDULE%')).toBe('0 0 2 * * *');
    process.env.BACKUP_SCHEDULE = '0 */5 * * * *';
    expect(resolveSetting('%BACKUP_SCHEDULE%')).toBe('0 */5 * * * *');
    expect(resolveSetting('0 0 3 * * *')).toBe('0 0 3 * * *');
    delete process.env.BACKUP_TEST_SETTING;
    expect(() => resolveSetting('%BACKUP_TEST_SETTING%')).toThrow(/BACKUP_TEST_SETTING/);
    process.env.BACKUP_TEST_SETTING = '7';
    expect(resolveSetting('0 %BACKUP_TEST_SETTING% 2 * * *')).toBe('0 7 2 * * *');
    // the resolved default parses
    delete process.env.BACKUP_SCHEDULE;
    expect(NcrontabSchedule.parse(resolveSetting('%BACKUP_SCHEDULE%')).next(new Date('2021-01-01T03:00:00Z')).toISOString()).toBe(
      '2021-01-02T02:00:00.000Z',
    );
  });
});
