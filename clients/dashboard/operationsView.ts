/** The operator's console: row counts, recent runs with live progress, a run's rejections, backups and restores. */
import { adminKey, downloadUrl, getJson, postAsAdmin, setAdminKey } from './api';
import { ApiError } from './ApiError';
import { byId, format, formatInstant, h, setStatus } from './dom';
import type { describeRun } from '../../shared/ingest/runs';
import type { RejectionRecord as Rejection } from '../../shared/db';
import type { BackupInfo as Backup, BackupSet } from '../../shared/backup/BackupStore';
import type { SetRestoreResponse, TableRestoreResponse } from '../../shared/backup/restore';

interface TableInfo {
  name: string;
  rows: number;
}
type Run = ReturnType<typeof describeRun>;

const PENDING = new Set(['queued', 'running']);
const RUNS_SHOWN = 20;
const BACKUPS_SHOWN = 5;
/** One tick: a pending load's progress is read again at every tick, the runs every 3rd, the backups (timers and other clients take them too) every 30th. */
const TICK_MS = 1000;
const RUNS_EVERY_TICKS = 3;
const BACKUPS_EVERY_TICKS = 30;

/** Bumped whenever the console is shown or left: the polling of an earlier showing stops, its late answers are dropped. */
let generation = 0;
/** The runs in the table, by id, with their row's cells that progress updates. */
const shownRuns = new Map<string, { status: HTMLElement; progress: HTMLElement; counts: HTMLElement[] }>();
let shownTables: string[] = [];
let runsSignature = '';
let backupsSignature = '';
/** What the error shown in the status line could not do: it is cleared when that succeeds. */
let failedAt: string | undefined;

export function showOperations(): void {
  const mine = ++generation;
  runsSignature = backupsSignature = '';
  const keyInput = byId<HTMLInputElement>('admin-key');
  keyInput.value = adminKey();
  keyInput.onchange = () => setAdminKey(keyInput.value.trim());
  void poll(mine);
}

/** Stops the polling when the reader leaves the console. */
export function hideOperations(): void {
  generation++;
}

/** One request at a time, none while the tab is hidden: an open console never piles requests up, a hidden one lets the service idle. */
async function poll(mine: number): Promise<void> {
  await refreshTables(mine);
  await refreshRuns(mine);
  await refreshBackups(mine);
  for (let tick = 1; mine === generation; tick++) {
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    if (document.hidden || mine !== generation) continue;
    await pollPendingRuns(mine);
    if (tick % RUNS_EVERY_TICKS === 0) await refreshRuns(mine);
    if (tick % BACKUPS_EVERY_TICKS === 0) await refreshBackups(mine);
  }
}

/** Runs `work` (which checks `mine` after each request) and says in the status line when it fails. */
async function guarded(what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    if (failedAt === what) {
      setStatus('operations-status', '');
      failedAt = undefined;
    }
  } catch (error) {
    failedAt = what;
    setStatus('operations-status', `Could not ${what}: ${(error as Error).message}`, true);
  }
}

function refreshTables(mine: number): Promise<void> {
  return guarded('read the tables', async () => {
    const { tables } = await getJson<{ tables: TableInfo[] }>('tables');
    if (mine !== generation) return;
    shownTables = tables.map((t) => t.name);
    byId<HTMLTableElement>('tables-table').tBodies[0].replaceChildren(
      ...tables.map((t) => h('tr', { 'data-table': t.name }, h('th', { scope: 'row' }, t.name), h('td', { class: 'number' }, t.rows))),
    );
  });
}

function refreshRuns(mine: number): Promise<void> {
  return guarded('read the runs', async () => {
    const { runs } = await getJson<{ runs: Run[] }>('runs', { limit: RUNS_SHOWN });
    if (mine !== generation) return;
    const wasPending = new Set([...shownRuns].filter(([, cells]) => PENDING.has(cells.status.textContent ?? '')).map(([id]) => id));
    const ended = runs.some((r) => wasPending.has(r.runId) && !PENDING.has(r.status));
    // Rebuilt only when a run came or changed status, so a focused button keeps its focus.
    const signature = runs.map((r) => `${r.runId}:${r.status}`).join(',');
    if (signature !== runsSignature) {
      runsSignature = signature;
      shownRuns.clear();
      byId<HTMLTableElement>('runs-table').tBodies[0].replaceChildren(...runs.map(runRow));
    }
    // A run that ended changed the counts (those of a running load follow its commits: pollPendingRuns).
    if (ended) await refreshTables(mine);
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

function pollPendingRuns(mine: number): Promise<void> {
  return guarded('follow the loads', async () => {
    const pending = [...shownRuns.entries()].filter(([, cells]) => PENDING.has(cells.status.textContent ?? ''));
    const runs = await Promise.all(pending.map(([id]) => getJson<Run>(`runs/${id}`)));
    if (mine !== generation) return;
    // A run that ended is shown by the runs' table rebuilt, which counts the tables again.
    if (runs.some((run) => !PENDING.has(run.status))) return refreshRuns(mine);
    // A load that committed rows since the last look changed its table's count.
    const committed = runs.some((run) => shownRuns.get(run.runId)?.counts[1].textContent !== format(run.inserted));
    for (const run of runs) showProgress(run);
    if (committed) await refreshTables(mine);
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

function refreshBackups(mine: number): Promise<void> {
  return guarded('read the backups', async () => {
    const tables = shownTables;
    const [perTable, sets] = await Promise.all([
      Promise.all(tables.map((name) => getJson<{ backups: Backup[] }>(`tables/${name}/backups`))),
      getJson<{ sets: BackupSet[] }>('backups'),
    ]);
    if (mine !== generation) return;
    // Rebuilt only when the backups shown change (taken, or deleted by retention), so a focused button keeps its focus.
    const signature = JSON.stringify([
      perTable.map((p) => p.backups.slice(0, BACKUPS_SHOWN).map((b) => b.backup)),
      sets.sets.slice(0, BACKUPS_SHOWN).map((x) => x.set),
    ]);
    if (signature === backupsSignature) return;
    backupsSignature = signature;
    const tableBlocks = tables.map((table, i) =>
      h(
        'section',
        { class: 'backups', 'data-table': table },
        h('h4', {}, table),
        backupTable(
          perTable[i].backups.slice(0, BACKUPS_SHOWN).map((b) => ({ name: b.backup, kind: b.kind, rows: b.rows, createdAt: b.createdAt })),
          (name) => confirmRestore({ table, backup: name }),
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
  if (!adminKey()) {
    setStatus('restore-result', 'Type the admin key first: a restore replaces a table.', true);
    byId('admin-key').focus();
    return;
  }
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
  const mine = generation;
  setStatus('restore-result', 'Restoring…');
  try {
    if ('table' in target) {
      const done = await postAsAdmin<TableRestoreResponse>(`tables/${target.table}/restore`, { backup: target.backup });
      setStatus(
        'restore-result',
        `Restored ${done.table}: ${format(done.rows)} rows from ${done.backup} (there were ${format(done.rowsBefore)}). Safety backup: ${done.safetyBackup ?? 'none'}.`,
      );
    } else {
      const done = await postAsAdmin<SetRestoreResponse>('restore', { set: target.set });
      setStatus(
        'restore-result',
        `Restored the set ${done.set}: ${done.tables.map((t) => `${t.table} ${format(t.rows)} rows`).join(', ')}. Safety set: ${done.safetySet ?? 'none'}.`,
      );
    }
  } catch (error) {
    // Azure answers a wrong key with a bare 401.
    const refused = error instanceof ApiError && (error.status === 401 || error.status === 403);
    setStatus('restore-result', `The restore was refused: ${refused ? 'the admin key was not accepted' : (error as Error).message}`, true);
  }
  await refreshTables(mine);
  await refreshRuns(mine);
  await refreshBackups(mine);
}
