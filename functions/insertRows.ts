import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { parseCsvBytes } from '../shared/csv';
import { insertBatch, MAX_BATCH_ROWS } from '../shared/ingest/insertBatch';
import { splitJsonArray } from './lib/jsonBody';
import { fromCsvRecord, fromJsonElement } from '../shared/ingest/SourceRow';
import { getServices } from '../shared/services';
import { UnsupportedFormatError } from '../shared/errors';
import { toUtf8 } from '../shared/ingest/transcode';
import { bodyBuffer, bodyText, charsetParam, json, jsonErrors, logRejections, logRun, mediaType, tableParam } from './lib/http';

/** 1000 rows of the widest table at the longest values, with room to spare. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** POST /api/tables/{table}/rows — a batch of 1 to 1000 rows, as a JSON array or a CSV body. */
export async function insertRows(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const type = mediaType(request, ['application/json', 'text/csv']);
  // CSV rows with bytes that are not UTF-8 are rejected one by one, as in a load; JSON must be valid as a whole.
  const charset = charsetParam(request.headers.get('content-type'));
  if (type === 'application/json' && charset && !/^utf-?8$/i.test(charset)) {
    throw new UnsupportedFormatError(`a JSON body is UTF-8 (RFC 8259); got charset "${charset}"`, 'unsupported_charset');
  }
  const rows =
    type === 'text/csv'
      ? parseCsvBytes(
          await utf8Buffer(await bodyBuffer(request, MAX_BATCH_BYTES), charset),
          { header: table.columns.map((c) => c.name) },
          MAX_BATCH_ROWS,
        ).map((record) => fromCsvRecord(table, record))
      : splitJsonArray(await bodyText(request, MAX_BATCH_BYTES), MAX_BATCH_ROWS).map((element, i) =>
          fromJsonElement(table, i, element.raw, element.value),
        );
  const { db } = await getServices();
  const result = await insertBatch(db, table, rows, type === 'text/csv' ? 'csv' : 'json', logRejections(context));
  logRun(context, 'batch', result);
  return json(result);
}

/** A CSV batch in its declared (or marked) encoding, as UTF-8. */
async function utf8Buffer(bytes: Buffer, charset: string | undefined): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of toUtf8(
    (async function* () {
      yield bytes;
    })(),
    charset,
  ))
    chunks.push(chunk);
  return Buffer.concat(chunks);
}

app.http('insertRows', {
  methods: ['POST'],
  route: 'tables/{table}/rows',
  authLevel: 'function',
  handler: jsonErrors(insertRows, []),
});
