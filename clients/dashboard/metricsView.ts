/** The stakeholders' view: a year's hires by quarter and the departments above the mean, as charts and tables. */
import * as Plot from '@observablehq/plot';
import { downloadUrl, getJson } from './api';
import { byId, format, h, setStatus } from './dom';
import type { DepartmentHiresRow, DepartmentsAboveMean, HireYear, HiresByQuarterRow } from '../../shared/metrics';

type QuarterRow = HiresByQuarterRow;
type DepartmentRow = DepartmentHiresRow;
type AboveMean = DepartmentsAboveMean & { year: number };

const QUARTERS = ['Q1', 'Q2', 'Q3', 'Q4'] as const;
/** The year the stakeholders asked about first, when it has hires. */
const PREFERRED_YEAR = 2021;
const BAR_COLOR = '#1f5f99';
const MEAN_COLOR = '#a4161a';
/** The quarters' colours, each at least 4.5:1 on white. */
const QUARTER_COLORS = ['#1f5f99', '#b35806', '#1e6b34', '#6a3d9a'];

/** The years of the current showing of the view, read once per showing. */
let years: Promise<HireYear[]> | undefined;
/** Bumped at each year shown: the answers for a year picked before the last are dropped. */
let shownRequest = 0;

/** Forgets the years when the reader leaves the view: they are read again when they come back. */
export function hideMetrics(): void {
  years = undefined;
}

/** Fills the year picker and shows `year` (or the preferred one); `onYear` is told when the reader picks another. */
export async function showMetrics(year: number | undefined, onYear: (year: number) => void): Promise<void> {
  const mine = ++shownRequest;
  const picker = byId<HTMLSelectElement>('year');
  try {
    years ??= getJson<{ years: HireYear[] }>('metrics/years').then((answer) => answer.years);
    const known = await years;
    if (mine !== shownRequest) return;
    picker.replaceChildren(...known.map((y) => h('option', { value: String(y.year) }, `${y.year} (${format(y.hired)} hires)`)));
    picker.onchange = () => onYear(Number(picker.value));
    if (known.length === 0) {
      setStatus('metrics-status', 'No hires yet: load the hired_employees table first.');
      return;
    }
    const shown = year ?? (known.some((y) => y.year === PREFERRED_YEAR) ? PREFERRED_YEAR : known[known.length - 1].year);
    picker.value = String(shown);
    setStatus('metrics-status', `Loading ${shown}…`);
    const [quarters, aboveMean] = await Promise.all([
      getJson<{ rows: QuarterRow[] }>('metrics/hires-by-quarter', { year: shown }),
      getJson<AboveMean>('metrics/departments-above-mean', { year: shown }),
    ]);
    if (mine !== shownRequest) return;
    byId('year-summary').textContent = `${format(aboveMean.hires)} hires in ${shown}`;
    showAboveMean(aboveMean);
    showQuarters(shown, quarters.rows);
    setStatus('metrics-status', '');
  } catch (error) {
    years = undefined;
    if (mine === shownRequest) setStatus('metrics-status', `Could not load the metrics: ${(error as Error).message}`, true);
  }
}

function showAboveMean(answer: AboveMean): void {
  byId('dam-summary').textContent =
    `${answer.rows.length} of ${answer.departments} departments hired more than the mean of ${format(answer.mean)}.`;
  byId<HTMLAnchorElement>('dam-csv').href = downloadUrl('metrics/departments-above-mean', { year: answer.year, format: 'csv' });
  const label = (d: DepartmentRow) => `${d.department}: ${d.hired} hires`;
  const chart = Plot.plot({
    ariaLabel: `Departments above the mean in ${answer.year}`,
    ariaDescription: `Hires of each department above the mean of ${format(answer.mean)}, the mean drawn as a line`,
    marginLeft: 180,
    marginRight: 50,
    height: Math.max(120, answer.rows.length * 32 + 50),
    x: { label: 'Hires', grid: true, nice: true },
    y: { label: null },
    marks: [
      Plot.barX(answer.rows, { x: 'hired', y: 'department', fill: BAR_COLOR, sort: { y: '-x' }, ariaLabel: label, title: label }),
      Plot.text(answer.rows, { x: 'hired', y: 'department', text: (d: DepartmentRow) => format(d.hired), dx: 4, textAnchor: 'start' }),
      Plot.ruleX([answer.mean], {
        stroke: MEAN_COLOR,
        strokeWidth: 2,
        strokeDasharray: '6,3',
        ariaLabel: () => `mean ${format(answer.mean)}`,
      }),
      Plot.text([answer.mean], {
        x: (m: number) => m,
        frameAnchor: 'top',
        text: () => `mean ${format(answer.mean)}`,
        fill: MEAN_COLOR,
        dy: -4,
        textAnchor: 'start',
        dx: 4,
      }),
    ],
  });
  byId('dam-chart').replaceChildren(
    chart,
    h('figcaption', {}, `Departments above the mean in ${answer.year}; the dashed line is the mean.`),
  );
  byId<HTMLTableElement>('dam-table').tBodies[0].replaceChildren(
    ...answer.rows.map((r) => h('tr', {}, h('td', {}, r.department), h('td', { class: 'number' }, r.hired))),
  );
}

function showQuarters(year: number, rows: QuarterRow[]): void {
  byId('hbq-summary').textContent = `${rows.length} department and job pairs hired in ${year}.`;
  byId<HTMLAnchorElement>('hbq-csv').href = downloadUrl('metrics/hires-by-quarter', { year, format: 'csv' });
  const byDepartment = new Map<string, Record<(typeof QUARTERS)[number], number>>();
  for (const row of rows) {
    const sums = byDepartment.get(row.department) ?? { Q1: 0, Q2: 0, Q3: 0, Q4: 0 };
    for (const q of QUARTERS) sums[q] += row[q];
    byDepartment.set(row.department, sums);
  }
  const bars = [...byDepartment].flatMap(([department, sums]) =>
    QUARTERS.map((quarter) => ({ department, quarter, hires: sums[quarter] })),
  );
  const label = (d: (typeof bars)[number]) => `${d.department}, ${d.quarter}: ${d.hires} hires`;
  const chart = Plot.plot({
    ariaLabel: `Hires per quarter per department in ${year}`,
    width: Math.max(640, byDepartment.size * 90),
    height: 320,
    marginBottom: 90,
    marginLeft: 60,
    fx: { label: null, tickRotate: -30, padding: 0.15 },
    x: { axis: null, domain: [...QUARTERS] },
    y: { label: 'Hires', grid: true },
    color: { legend: true, domain: [...QUARTERS], range: QUARTER_COLORS },
    marks: [
      Plot.barY(bars, { fx: 'department', x: 'quarter', y: 'hires', fill: 'quarter', ariaLabel: label, title: label }),
      Plot.ruleY([0]),
    ],
  });
  byId('hbq-chart').replaceChildren(chart, h('figcaption', {}, `Hires per quarter per department in ${year} (UTC quarters).`));
  const body = byId<HTMLTableElement>('hbq-table').tBodies[0];
  body.replaceChildren(
    ...rows.map((r) =>
      h('tr', {}, h('td', {}, r.department), h('td', {}, r.job), ...QUARTERS.map((q) => h('td', { class: 'number' }, r[q]))),
    ),
  );
}
