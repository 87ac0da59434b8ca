/** The operator's console: row counts, recent runs with live progress, a run's rejections, backups and restores. */
import { adminKey, downloadUrl, getJson, postAsAdmin, setAdminKey } from './api';
import { byId, format, formatInstant, h, setStatus } from './dom';

interface TableInfo {
  name: string;
  rows: number;
}
interface Run {
  runId: string;
  table: string;
  kind: string;
  source: string;
  status: string;
  startedAt: string;
  received: number;
  inserted: number;
  skipped: number;
  rejected: number;
  error: string | null;
  percent?: number | null;
  rowsPerSecond?: number;
  etaSeconds?: number | null;
}
interface Rejection {
  position: number;
  rawText: string;
  reasons: { field: string | null; message: string }[];
}
interface Backup {
  table: string;
  backup: string;
  rows: number;
  bytes: number;
  createdAt: string;
  kind: string;
  set: string | null;
}
interface BackupSet {
  set: string;
  kind: string;
  createdAt: string;
  tables: Backup[];
}
interface TableRestored {
  table: string;
  backup: string;
  rows: number;
  rowsBefore: number;
  safetyBackup: string | null;
}

const PENDING = new Set(['queued', 'running']);
const RUNS_SHOWN = 20;
const BACKUPS_SHOWN = 5;
/** How often a pending load's progress and the list of runs are read again while the console is open. */
const PROGRESS_POLL_MS = 1000;
const RUNS_POLL_MS = 3000;
/** Backups come from timers and other clients too. */
const BACKUPS_POLL_MS = 15_000;

let timers: number[] = [];
/** The runs in the table, by id, with their row's cells that progress updates. */
const shownRuns = new Map<string, { status: HTMLElement; progress: HTMLElement; counts: HTMLElement[] }>();
let runsSignature = '';
let backupsSignature = '';

export function showOperations(): void {
  hideOperations();
  runsSignature = backupsSignature = '';
  const keyInput = byId<HTMLInputElement>('admin-key');
  keyInput.value = adminKey();
  keyInput.onchange = () => setAdminKey(keyInput.value.trim());
  void refreshTables();
  void refreshRuns();
  void refreshBackups();
  timers.push(window.setInterval(() => void refreshRuns(), RUNS_POLL_MS));
  timers.push(window.setInterval(() => void pollPendingRuns(), PROGRESS_POLL_MS));
  timers.push(window.setInterval(() => void refreshBackups(), BACKUPS_POLL_MS));
}

/** Stops the polling when the reader leaves the console. */
export function hideOperations(): void {
  for (const timer of timers) clearInterval(timer);
  timers = [];
}

async function guarded(what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    setStatus('operations-status', `Could not ${what}: ${(error as Error).message}`, true);
  }
}

function refreshTables(): Promise<void> {
  return guarded('read the tables', async () => {
    const { tables } = await getJson<{ tables: TableInfo[] }>('tables');
    byId<HTMLTableElement>('tables-table').tBodies[0].replaceChildren(
      ...tables.map((t) => h('tr', { 'data-table': t.name }, h('th', { scope: 'row' }, t.name), h('td', { class: 'number' }, t.rows))),
    );
  });
}

function refreshRuns(): Promise<void> {
  return guarded('read the runs', async () => {
    const { runs } = await getJson<{ runs: Run[] }>('runs', { limit: RUNS_SHOWN });
    // Rebuilt only when a run came or changed status, so a focused button keeps its focus.
    const signature = runs.map((r) => `${r.runId}:${r.status}`).join(',');
    // A running load's rows are counted as it commits them.
    if (runs.some((r) => PENDING.has(r.status))) await refreshTables();
    if (signature === runsSignature) return;
    const ended = [...shownRuns.keys()].some((id) => runs.some((r) => r.runId === id && !PENDING.has(r.status)));
    runsSignature = signature;
    shownRuns.clear();
    byId<HTMLTableElement>('runs-table').tBodies[0].replaceChildren(...runs.map(runRow));
    if (ended) await refreshTables();
  });
}

function runRow(run: Run): HTMLTableRowElement {
  const status = h('td', { class: `status ${run.status}` }, run.status);
  const progress = h('td', {});
  const counts = [run.received, run.inserted, run.skipped, run.rejected].map((n) => h('td', { class: 'number' }, n));
  const rejections =
    run.rejected > 0
      ? h('button', { type: 'button', 'aria-label': `Show the ${run.rejected} rejections of run ${run.runId}` }, 'Show')
      : h('span', { class: 'muted' }, '—');
  if (rejections instanceof HTMLButtonElement) rejections.onclick = () => void showRejections(run);
  const row = h(
    'tr',
    { 'data-run': run.runId },
    h('td', { title: run.runId }, formatInstant(run.startedAt)),
    h('td', {}, run.table),
    h('td', { title: run.source }, run.kind),
    status,
    progress,
    ...counts,
    h('td', {}, rejections),
  );
  shownRuns.set(run.runId, { status, progress, counts });
  showProgress(run);
  return row;
}

/** A pending load's bar: its percent of bytes, rows per second and time left. */
function showProgress(run: Run): void {
  const cells = shownRuns.get(run.runId);
  if (!cells) return;
  cells.status.textContent = run.status;
  cells.status.className = `status ${run.status}`;
  [run.received, run.inserted, run.skipped, run.rejected].forEach((n, i) => (cells.counts[i].textContent = format(n)));
  if (!PENDING.has(run.status) || run.kind !== 'load') {
    cells.progress.replaceChildren(run.error ? h('span', { class: 'error' }, run.error) : '');
    return;
  }
  const percent = run.percent ?? null;
  const bar = h('progress', { max: '100', 'aria-label': `Progress of the load into ${run.table}` });
  if (percent !== null) bar.value = percent;
  const speed = run.rowsPerSecond ? `${format(run.rowsPerSecond)} rows/s` : '';
  const eta = run.etaSeconds !== null && run.etaSeconds !== undefined ? `${run.etaSeconds} s left` : '';
  cells.progress.replaceChildren(
    bar,
    h('span', { class: 'muted' }, [percent === null ? '' : `${format(percent)}%`, speed, eta].filter(Boolean).join(' · ')),
  );
}

function pollPendingRuns(): Promise<void> {
  return guarded('follow the loads', async () => {
    const pending = [...shownRuns.entries()].filter(([, cells]) => PENDING.has(cells.status.textContent ?? ''));
    const runs = await Promise.all(pending.map(([id]) => getJson<Run>(`runs/${id}`)));
    for (const run of runs) showProgress(run);
    if (runs.some((run) => !PENDING.has(run.status))) await refreshRuns();
  });
}

function showRejections(run: Run): Promise<void> {
  return guarded('read the rejections', async () => {
    const { rejections, nextAfterId } = await getJson<{ rejections: Rejection[]; nextAfterId: number | null }>('rejections', {
      runId: run.runId,
      limit: 100,
    });
    const section = byId('rejections');
    section.hidden = false;
    byId('rejections-title').textContent = `Rejections of the ${run.kind} into ${run.table} (${formatInstant(run.startedAt)})`;
    byId('rejections-summary').textContent =
      `${format(run.rejected)} rows rejected${nextAfterId !== null ? `; the first ${rejections.length} shown` : ''}.`;
    byId<HTMLAnchorElement>('rejections-csv').href = downloadUrl('rejections', { runId: run.runId, format: 'csv' });
    byId<HTMLTableElement>('rejections-table').tBodies[0].replaceChildren(
      ...rejections.map((r) =>
        h(
          'tr',
          {},
          h('td', { class: 'number' }, r.position),
          h(
            'td',
            {},
            h('ul', {}, ...r.reasons.map((reason) => h('li', {}, reason.field ? `${reason.field}: ${reason.message}` : reason.message))),
          ),
          h('td', {}, h('code', {}, r.rawText)),
        ),
      ),
    );
    section.scrollIntoView({ block: 'start' });
  });
}

function refreshBackups(): Promise<void> {
  return guarded('read the backups', async () => {
    const tables = (await getJson<{ tables: TableInfo[] }>('tables')).tables;
    const [perTable, sets] = await Promise.all([
      Promise.all(tables.map((t) => getJson<{ backups: Backup[] }>(`tables/${t.name}/backups`))),
      getJson<{ sets: BackupSet[] }>('backups'),
    ]);
    // Rebuilt only when a backup came, so a focused button keeps its focus.
    const signature = JSON.stringify([perTable.map((p) => p.backups[0]?.backup), sets.sets[0]?.set]);
    if (signature === backupsSignature) return;
    backupsSignature = signature;
    const tableBlocks = tables.map((t, i) =>
      h(
        'section',
        { class: 'backups', 'data-table': t.name },
        h('h4', {}, t.name),
        backupTable(
          perTable[i].backups.slice(0, BACKUPS_SHOWN).map((b) => ({ name: b.backup, kind: b.kind, rows: b.rows, createdAt: b.createdAt })),
          (name) => confirmRestore({ table: t.name, backup: name }),
        ),
      ),
    );
    const setBlock = h(
      'section',
      { class: 'backups', 'data-table': '' },
      h('h4', {}, 'Sets (every table at one instant)'),
      backupTable(
        sets.sets.slice(0, BACKUPS_SHOWN).map((s) => ({
          name: s.set,
          kind: s.kind,
          rows: s.tables.reduce((sum, b) => sum + b.rows, 0),
          createdAt: s.createdAt,
        })),
        (name) => confirmRestore({ set: name }),
      ),
    );
    byId('backups').replaceChildren(...tableBlocks, setBlock);
  });
}

function backupTable(
  backups: { name: string; kind: string; rows: number; createdAt: string }[],
  restore: (name: string) => void,
): HTMLElement {
  if (backups.length === 0) return h('p', { class: 'muted' }, 'No backups yet.');
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Backup'),
        h('th', { scope: 'col' }, 'Kind'),
        h('th', { scope: 'col', class: 'number' }, 'Rows'),
        h('th', { scope: 'col' }, 'Taken'),
        h('th', { scope: 'col' }, ''),
      ),
    ),
    h(
      'tbody',
      {},
      ...backups.map((b) => {
        const button = h('button', { type: 'button', 'aria-label': `Restore ${b.name}` }, 'Restore…');
        button.onclick = () => restore(b.name);
        return h(
          'tr',
          { 'data-backup': b.name },
          h('td', {}, h('code', {}, b.name)),
          h('td', {}, b.kind),
          h('td', { class: 'number' }, b.rows),
          h('td', {}, formatInstant(b.createdAt)),
          h('td', {}, button),
        );
      }),
    ),
  );
}

type RestoreTarget = { table: string; backup: string } | { set: string };

/** Asks first, then restores with the admin key and says what it did, the safety backup included. */
function confirmRestore(target: RestoreTarget): void {
  const dialog = byId<HTMLDialogElement>('confirm-restore');
  byId('confirm-text').textContent =
    'table' in target
      ? `Replace every row of ${target.table} with the backup ${target.backup}?`
      : `Replace every row of every table with the backup set ${target.set}?`;
  byId('cancel-button').onclick = () => dialog.close();
  byId('confirm-button').onclick = () => {
    dialog.close();
    void restore(target);
  };
  dialog.showModal();
}

async function restore(target: RestoreTarget): Promise<void> {
  if (!adminKey()) {
    setStatus('restore-result', 'Type the admin key first: a restore replaces a table.', true);
    return;
  }
  setStatus('restore-result', 'Restoring…');
  try {
    if ('table' in target) {
      const done = await postAsAdmin<TableRestored>(`tables/${target.table}/restore`, { backup: target.backup });
      setStatus(
        'restore-result',
        `Restored ${done.table}: ${format(done.rows)} rows from ${done.backup} (there were ${format(done.rowsBefore)}). Safety backup: ${done.safetyBackup ?? 'none'}.`,
      );
    } else {
      const done = await postAsAdmin<{ set: string; tables: TableRestored[]; safetySet: string | null }>('restore', { set: target.set });
      setStatus(
        'restore-result',
        `Restored the set ${done.set}: ${done.tables.map((t) => `${t.table} ${format(t.rows)} rows`).join(', ')}. Safety set: ${done.safetySet ?? 'none'}.`,
      );
    }
  } catch (error) {
    setStatus('restore-result', `The restore was refused: ${(error as Error).message}`, true);
  }
  await Promise.all([refreshTables(), refreshRuns(), refreshBackups()]);
}
