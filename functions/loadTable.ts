import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { parseJson } from '../shared/ingest/jsonArray';
import { loadCsv } from '../shared/ingest/loadCsv';
import { BadRequestError } from '../shared/errors';
import { getServices, requireStorage } from '../shared/services';
import { bodyBytes, bodyText, json, jsonErrors, logRejections, logRun, mediaType, queryBool, tableParam } from './lib/http';

/**
 * POST /api/tables/{table}/load[?dryRun=true] — a historical load with no row limit: the CSV file
 * as a streamed text/csv body, or {"blob":"<path>"} to stream it from the historic container.
 */
export async function loadTable(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const dryRun = queryBool(request, 'dryRun');
  const type = mediaType(request, ['text/csv', 'application/json']);
  const services = await getServices();
  let source = 'csv';
  let body = bodyBytes(request);
  if (type === 'application/json') {
    const blob = parseBlobRequest(await bodyText(request, 64 * 1024));
    body = await requireStorage(services).openHistoric(blob);
    source = `blob:${blob}`;
  }
  const result = await loadCsv(services.db, table, body, { source, dryRun, log: logRejections(context) });
  logRun(context, dryRun ? 'dry run' : 'load', result);
  return json(result);
}

function parseBlobRequest(text: string): string {
  const body = parseJson(text);
  const keys = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  if (keys.length !== 1 || keys[0] !== 'blob') {
    throw new BadRequestError('the JSON body must be {"blob":"<path in the historic container>"}', 'bad_load_request');
  }
  return (body as { blob: string }).blob;
}

app.http('loadTable', {
  methods: ['POST'],
  route: 'tables/{table}/load',
  authLevel: 'function',
  handler: jsonErrors(loadTable, ['dryRun']),
});
