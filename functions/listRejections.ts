import { Readable } from 'node:stream';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { InvalidInputError, NotFoundError } from '../shared/errors';
import { rejectionsCsv } from '../shared/ingest/rejectionsCsv';
import { getServices } from '../shared/services';
import { downloadHeaders, json, jsonErrors, queryBool, queryChoice, queryInt, requireTable, UUID } from './lib/http';

/**
 * GET /api/rejections?table=&runId=&afterId=&limit=&open=&format=json|csv[&history=true] — the
 * rejected rows with their reasons (JSON, keyset-paged), or one table's rejected rows as a CSV file
 * to fix and send again: by default the open ones, with history=true every one.
 */
export async function listRejections(request: HttpRequest): Promise<HttpResponseInit> {
  const tableName = request.query.get('table');
  const table = tableName ? requireTable(tableName) : undefined;
  const runId = request.query.get('runId') || undefined;
  if (runId && !UUID.test(runId)) throw new InvalidInputError(`query parameter "runId" must be a UUID; got "${runId}"`, 'bad_query');
  const format = queryChoice(request, 'format', ['json', 'csv'], 'json');
  const afterId = queryInt(request, 'afterId', { min: 0, max: Number.MAX_SAFE_INTEGER, default: 0 });
  const { db } = await getServices();

  if (format === 'csv') {
    // A run's rejections are of its table: the run says which.
    const run = runId && !table ? await db.getRun(runId.toLowerCase()) : undefined;
    if (runId && !table && !run) throw new NotFoundError(`no run ${runId}`, 'run_not_found');
    const csvTable = table ?? (run && requireTable(run.table));
    if (!csvTable) throw new InvalidInputError('format=csv needs table= or runId=: each table has its own columns', 'bad_query');
    const limit = queryInt(request, 'limit', { min: 1, max: Number.MAX_SAFE_INTEGER, default: Number.MAX_SAFE_INTEGER });
    // By default a table's file lists what is still to fix: each distinct row once, until its id is inserted.
    const open = !runId && !queryBool(request, 'history');
    const lines = rejectionsCsv(db, csvTable, { runId: runId?.toLowerCase(), afterId, limit, open });
    return {
      status: 200,
      headers: downloadHeaders(`${csvTable.name}-rejections${runId ? `-${runId.toLowerCase()}` : ''}.csv`),
      body: Readable.toWeb(Readable.from(lines)) as ReadableStream<Uint8Array>,
    };
  }
  const limit = queryInt(request, 'limit', { min: 1, max: 1000, default: 100 });
  const open = queryBool(request, 'open');
  if (open && !table) throw new InvalidInputError('open=true needs table=: open rejections are of one table', 'bad_query');
  const rejections = await db.listRejections({ table: table?.name, runId: runId?.toLowerCase(), afterId, limit, open });
  return json({
    rejections,
    nextAfterId: rejections.length === limit ? rejections[rejections.length - 1].id : null,
  });
}

app.http('listRejections', {
  methods: ['GET'],
  route: 'rejections',
  authLevel: 'function',
  handler: jsonErrors(listRejections, ['table', 'runId', 'format', 'afterId', 'limit', 'open', 'history']),
});
