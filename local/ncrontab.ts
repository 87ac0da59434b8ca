/**
 * NCRONTAB schedules, as Azure Functions timer triggers use them: six fields,
 * `second minute hour day month day-of-week`, in UTC. Each field takes `*`, numbers, ranges
 * `a-b`, lists `a,b` and steps `*` `/n` or `a-b/n`; months and days of the week also take names,
 * whole or in three letters. As in NCrontab (which the Functions host uses), a time matches when
 * every field matches, day and day-of-week alike.
 */
const FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'],
  },
  { name: 'day-of-week', min: 0, max: 6, names: ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] },
] as const;

export class NcrontabSchedule {
  private constructor(private readonly allowed: Set<number>[]) {}

  static parse(expression: string): NcrontabSchedule {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 6)
      throw new Error(`"${expression}" is not an NCRONTAB schedule: it needs 6 fields (second minute hour day month day-of-week)`);
    const allowed = parts.map((part, i) => parseField(part, FIELDS[i], expression));
    return new NcrontabSchedule(allowed);
  }

  /** The first time strictly after `after` (to the second) that the schedule fires. */
  next(after: Date): Date {
    const [seconds, minutes, hours, days, months, weekdays] = this.allowed;
    const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
    const limit = after.getTime() + 5 * 366 * 86_400_000;
    while (t.getTime() <= limit) {
      if (!months.has(t.getUTCMonth() + 1)) {
        t.setUTCMonth(t.getUTCMonth() + 1, 1);
        t.setUTCHours(0, 0, 0, 0);
      } else if (!days.has(t.getUTCDate()) || !weekdays.has(t.getUTCDay())) {
        t.setUTCDate(t.getUTCDate() + 1);
        t.setUTCHours(0, 0, 0, 0);
      } else if (!hours.has(t.getUTCHours())) {
        t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      } else if (!minutes.has(t.getUTCMinutes())) {
        t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      } else if (!seconds.has(t.getUTCSeconds())) {
        t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
      } else {
        return t;
      }
    }
    throw new Error('the schedule never fires');
  }
}

function parseField(text: string, field: (typeof FIELDS)[number], expression: string): Set<number> {
  const values = new Set<number>();
  const bad = () => new Error(`"${expression}": the ${field.name} field "${text}" is not valid (${field.min}-${field.max})`);
  const value = (token: string): number => {
    const upper = token.toUpperCase();
    const named =
      'names' in field
        ? (field.names as readonly string[]).findIndex((n) => n === upper || (upper.length === 3 && n.startsWith(upper)))
        : -1;
    const n = named >= 0 ? named + field.min : /^\d+$/.test(token) ? Number(token) : NaN;
    if (!(n >= field.min && n <= field.max)) throw bad();
    return n;
  };
  for (const item of text.split(',')) {
    const [range, stepText] = item.split('/');
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) && Number(stepText) > 0 ? Number(stepText) : NaN;
    if (Number.isNaN(step)) throw bad();
    let from: number, to: number;
    if (range === '*') [from, to] = [field.min, field.max];
    else if (range.includes('-')) [from, to] = range.split('-').map(value) as [number, number];
    else [from, to] = [value(range), stepText === undefined ? value(range) : field.max];
    if (from > to) throw bad();
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}
