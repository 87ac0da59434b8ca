import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { parseJson } from './lib/jsonBody';
import { loadCsv } from '../shared/ingest/loadCsv';
import { InvalidInputError } from '../shared/errors';
import { hasControlCharacter } from '../shared/controlCharacters';
import { getServices, requireLoadQueue } from '../shared/services';
import { queueBlobLoad } from '../shared/ingest/blobLoads';
import { assertSupportedCharset, toUtf8 } from '../shared/ingest/transcode';
import {
  acceptedRun,
  bodyBytes,
  bodyText,
  charsetParam,
  idempotencyKey,
  json,
  jsonErrors,
  logRejections,
  logRun,
  mediaType,
  queryBool,
  tableParam,
} from './lib/http';

/**
 * POST /api/tables/{table}/load[?dryRun=true] — a historical load with no row limit. A streamed
 * text/csv body is loaded in this request. {"blob":"<path>"} queues a load of that file of the
 * historic container: 202 with the run and its Location to poll (200 with the existing run for
 * the same blob version while it is queued or running, or for a repeated Idempotency-Key).
 */
export async function loadTable(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const dryRun = queryBool(request, 'dryRun');
  const type = mediaType(request, ['text/csv', 'application/json']);
  const services = await getServices();
  if (type === 'application/json') {
    const asked = parseBlobRequest(await bodyText(request, 64 * 1024));
    const { storage, queue } = requireLoadQueue(services);
    const { run, created } = await queueBlobLoad(
      services.db,
      storage,
      queue,
      { table, dryRun, ...asked, idempotencyKey: idempotencyKey(request) },
      services.config.loadLeaseMs,
    );
    context.log(`[run ${run.id}] ${created ? 'queued' : 'already queued or running'}: ${run.source}`);
    return acceptedRun(run, created);
  }
  const source = fileName(request) ? `csv:${fileName(request)}` : 'csv';
  const charset = charsetParam(request.headers.get('content-type'));
  assertSupportedCharset(charset); // before the run begins
  const result = await loadCsv(services.db, table, toUtf8(bodyBytes(request), charset), {
    source,
    dryRun,
    log: logRejections(context),
    leaseMs: services.config.loadLeaseMs,
  });
  logRun(context, dryRun ? 'dry run' : 'load', result);
  return json(result);
}

function parseBlobRequest(text: string): { blob: string; charset?: string } {
  const body = parseJson(text);
  const keys = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  const { blob, charset } = (body ?? {}) as { blob?: unknown; charset?: unknown };
  if (
    !keys.includes('blob') ||
    keys.some((k) => k !== 'blob' && k !== 'charset') ||
    (charset !== undefined && typeof charset !== 'string')
  ) {
    throw new InvalidInputError(
      'the JSON body must be {"blob":"<path in the historic container>"}, with "charset":"<name>" if the file is not UTF-8',
      'bad_load_request',
    );
  }
  return { blob: blob as string, ...(charset !== undefined && { charset: charset as string }) };
}

/** The uploaded file's name, for its run: `?name=`, else a Content-Disposition filename; at most 255 plain characters. */
function fileName(request: HttpRequest): string | undefined {
  const name =
    request.query.get('name') ?? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(request.headers.get('content-disposition') ?? '')?.[1];
  if (name === undefined || name === '') return undefined;
  if (name.length > 255 || hasControlCharacter(name))
    throw new InvalidInputError(
      'the file name ("name" or Content-Disposition) must be 1 to 255 characters, without control characters',
      'bad_query',
    );
  return name;
}

app.http('loadTable', {
  methods: ['POST'],
  route: 'tables/{table}/load',
  authLevel: 'function',
  handler: jsonErrors(loadTable, ['dryRun', 'name']),
});
