/**
 * Seeded generator of data in the customer's export format, for tests and the benchmark: the same
 * seed always gives the same files. Invalid rows can be mixed in at a given rate, each of a known
 * kind, and the generator reports how many rows a load must insert and reject.
 *
 *   node dist/tools/datagen.js --rows 2000000 --out /tmp/data [--seed 1] [--invalid 0.01] [--lf]
 */
import fs from 'node:fs';
import path from 'node:path';

export interface DatasetOptions {
  /** hired_employees rows. */
  readonly rows: number;
  readonly departments?: number;
  readonly jobs?: number;
  readonly seed?: number;
  /** Share of hired_employees rows (0–1) that break a rule. */
  readonly invalidRate?: number;
  /** Line ending (default CRLF, as the customer's files). */
  readonly newline?: '\r\n' | '\n';
  /** First employee id (default 1). */
  readonly firstId?: number;
}

export interface DatasetCounts {
  readonly departments: number;
  readonly jobs: number;
  readonly employees: number;
  /** hired_employees rows that break a rule: a load rejects exactly these. */
  readonly invalid: number;
}

/** A small, fast, seedable PRNG (mulberry32): the same seed, the same sequence. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Ann',
  'Bo',
  'Carla',
  'Dmitri',
  'Eve',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'José',
  'Kai',
  'Lena',
  'Mo',
  'Nadia',
  'Olu',
  'Priya',
  'Quinn',
  'Rosa',
  'Sven',
  'Tara',
  'Uma',
  'Vik',
  'Wen',
  'Xavi',
  'Yara',
  'Zoë',
];
const LAST = [
  'Adams',
  'Baker',
  'Chen',
  'Diaz',
  'Evans',
  "O'Neil",
  'García',
  'Haddad',
  'Ito',
  'Jones',
  'Kowalski',
  'Lopez',
  'Müller',
  'Nguyen',
  'Okafor',
  'Patel',
  'Quist',
  'Rossi',
  'Smith',
  'Tanaka',
];
const DEPARTMENTS = [
  'Product Management',
  'Sales',
  'Research and Development',
  'Business Development',
  'Engineering',
  'Human Resources',
  'Services',
  'Support',
  'Marketing',
  'Training',
  'Legal',
  'Accounting',
];

export function departmentLines(count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) =>
      `${i + 1},${DEPARTMENTS[i % DEPARTMENTS.length]}${i >= DEPARTMENTS.length ? ` ${Math.floor(i / DEPARTMENTS.length) + 1}` : ''}`,
  );
}

export function jobLines(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${i + 1},Job title ${i + 1}`);
}

const START = Date.UTC(2020, 0, 1);
const SPAN = Date.UTC(2023, 0, 1) - START;
const INVALID_KINDS = [
  'empty name',
  'empty datetime',
  'impossible date',
  'unknown department',
  'unknown job',
  'missing field',
  'zero id',
] as const;

/** One hired_employees row as CSV fields, valid or of a chosen invalid kind. */
function employeeFields(
  id: number,
  next: () => number,
  departments: number,
  jobs: number,
  invalid: (typeof INVALID_KINDS)[number] | undefined,
): string[] {
  const name = `${FIRST[Math.floor(next() * FIRST.length)]} ${LAST[Math.floor(next() * LAST.length)]}`;
  const datetime = new Date(START + Math.floor((next() * SPAN) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const fields = [
    String(id),
    name.includes(',') ? `"${name}"` : name,
    datetime,
    String(1 + Math.floor(next() * departments)),
    String(1 + Math.floor(next() * jobs)),
  ];
  switch (invalid) {
    case 'empty name':
      fields[1] = '';
      break;
    case 'empty datetime':
      fields[2] = '';
      break;
    case 'impossible date':
      fields[2] = '2021-02-30T10:00:00Z';
      break;
    case 'unknown department':
      fields[3] = String(departments + 1);
      break;
    case 'unknown job':
      fields[4] = String(jobs + 1);
      break;
    case 'missing field':
      fields.pop();
      break;
    case 'zero id':
      fields[0] = '0';
      break;
  }
  return fields;
}

/** hired_employees lines (without line endings), in blocks, with the number of invalid rows among them. */
export function* employeeBlocks(options: DatasetOptions, blockRows = 10_000): Generator<{ lines: string[]; invalid: number }> {
  const next = random(options.seed ?? 1);
  const departments = options.departments ?? 12;
  const jobs = options.jobs ?? 183;
  const rate = options.invalidRate ?? 0;
  const first = options.firstId ?? 1;
  for (let start = 0; start < options.rows; start += blockRows) {
    const lines: string[] = [];
    let invalid = 0;
    for (let i = start; i < Math.min(options.rows, start + blockRows); i++) {
      const kind = rate > 0 && next() < rate ? INVALID_KINDS[Math.floor(next() * INVALID_KINDS.length)] : undefined;
      if (kind) invalid++;
      lines.push(employeeFields(first + i, next, departments, jobs, kind).join(','));
    }
    yield { lines, invalid };
  }
}

/** hired_employees rows as JSON objects (all valid), for batch requests. */
export function employeeObjects(firstId: number, count: number, seed: number, departments = 12, jobs = 183) {
  const next = random(seed);
  return Array.from({ length: count }, (_, i) => {
    const [id, name, datetime, department_id, job_id] = employeeFields(firstId + i, next, departments, jobs, undefined);
    return { id: Number(id), name: name.replace(/"/g, ''), datetime, department_id: Number(department_id), job_id: Number(job_id) };
  });
}

/** Writes departments.csv, jobs.csv and hired_employees.csv into `dir`. */
export async function writeDataset(dir: string, options: DatasetOptions): Promise<DatasetCounts> {
  fs.mkdirSync(dir, { recursive: true });
  const newline = options.newline ?? '\r\n';
  const departments = options.departments ?? 12;
  const jobs = options.jobs ?? 183;
  fs.writeFileSync(path.join(dir, 'departments.csv'), departmentLines(departments).join(newline) + newline);
  fs.writeFileSync(path.join(dir, 'jobs.csv'), jobLines(jobs).join(newline) + newline);
  const out = fs.createWriteStream(path.join(dir, 'hired_employees.csv'));
  let invalid = 0;
  for (const block of employeeBlocks(options)) {
    invalid += block.invalid;
    if (!out.write(block.lines.join(newline) + newline)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { departments, jobs, employees: options.rows, invalid };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const out = arg('out');
  if (!out) {
    console.error('usage: datagen --rows N --out DIR [--seed S] [--invalid RATE] [--lf]');
    process.exit(2);
  }
  writeDataset(out, {
    rows: Number(arg('rows') ?? 100_000),
    seed: Number(arg('seed') ?? 1),
    invalidRate: Number(arg('invalid') ?? 0),
    newline: args.includes('--lf') ? '\n' : '\r\n',
  }).then((counts) => console.log(JSON.stringify(counts)));
}
