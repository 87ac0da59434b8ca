import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { parseJson } from '../shared/ingest/jsonArray';
import { loadCsv } from '../shared/ingest/loadCsv';
import { BadRequestError } from '../shared/errors';
import { getServices, requireStorage } from '../shared/services';
import { checkCharset, toUtf8 } from '../shared/ingest/transcode';
import { bodyBytes, bodyText, charsetParam, json, jsonErrors, logRejections, logRun, mediaType, queryBool, tableParam } from './lib/http';

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
  let charset = charsetParam(request.headers.get('content-type'));
  if (type === 'application/json') {
    const asked = parseBlobRequest(await bodyText(request, 64 * 1024));
    const blob = await requireStorage(services).openHistoric(asked.blob);
    body = blob.bytes;
    charset = asked.charset ?? charsetParam(blob.contentType);
    source = `blob:${asked.blob}`;
  }
  checkCharset(charset); // before the run begins
  const result = await loadCsv(services.db, table, toUtf8(body, charset), { source, dryRun, log: logRejections(context) });
  logRun(context, dryRun ? 'dry run' : 'load', result);
  return json(result);
}

function parseBlobRequest(text: string): { blob: string; charset?: string } {
  const body = parseJson(text);
  const keys = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  const { blob, charset } = (body ?? {}) as { blob?: unknown; charset?: unknown };
  if (!keys.includes('blob') || keys.some((k) => k !== 'blob' && k !== 'charset') || (charset !== undefined && typeof charset !== 'string')) {
    throw new BadRequestError('the JSON body must be {"blob":"<path in the historic container>"}, with "charset":"<name>" if the file is not UTF-8', 'bad_load_request');
  }
  return { blob: blob as string, ...(charset !== undefined && { charset: charset as string }) };
}

app.http('loadTable', {
  methods: ['POST'],
  route: 'tables/{table}/load',
  authLevel: 'function',
  handler: jsonErrors(loadTable, ['dryRun']),
});
