/**
 * What every HTTP function shares: turning errors into JSON responses, reading query values and
 * bodies with limits. Functions stay thin: parse the request, call `shared/`, shape the response.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import Papa from 'papaparse';
import { InvalidInputError, NotFoundError, TooLargeError, ServiceError, UnsupportedFormatError, type ErrorKind } from '../../shared/errors';
import { findTable, TABLES, type TableDef } from '../../shared/tables';
import type { RejectionLogger } from '../../shared/ingest/applyRows';
import { describeReasons } from '../../shared/rules';
import { parseJson } from './jsonBody';
import type { RestoreOptions } from '../../shared/backup/restore';
import { escapeCell } from '../../shared/ingest/fixFormat';
export { charsetParam } from '../../shared/ingest/transcode';
import { describeRun } from '../../shared/ingest/runs';
import type { RunRecord } from '../../shared/db';

/** The HTTP status of each kind of error that `shared/` raises. */
const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  unusable: 422,
  unavailable: 503,
};

/** Run ids are UUIDs; anything else is a malformed request, not an unknown run. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Error codes of a request body that ended before its end. */
const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'UND_ERR_ABORTED']);

/** The Functions host's own parameters, on every route: the key, and the key's name (as in the portal's function URLs). */
const HOST_QUERY = ['code', 'clientid'];

/**
 * Wraps a handler so that every failure becomes a JSON error: 4xx for bad input, 500 only for
 * bugs. A query parameter the route does not take is a 400 naming those it takes: a misspelled
 * `dryrun` must never do a real load.
 */
export function jsonErrors(handler: HttpHandler, query: readonly string[]): HttpHandler {
  return async (request, context) => {
    try {
      // A browser sends a form or a bodiless fetch to another site without asking; JSON or CSV it asks about first (CORS).
      if (request.method === 'POST') mediaType(request, ['application/json', 'text/csv']);
      const unknown = [...new Set(request.query.keys())].filter(
        (name) => !query.includes(name) && !HOST_QUERY.includes(name.toLowerCase()),
      );
      if (unknown.length) {
        throw new InvalidInputError(
          `unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}: ${query.length ? `this route takes ${query.map((n) => `"${n}"`).join(', ')}` : 'this route takes none'}`,
          'unknown_query_parameter',
        );
      }
      return await handler(request, context);
    } catch (error) {
      if (error instanceof ServiceError) {
        return { status: STATUS_OF_KIND[error.kind], jsonBody: { error: { code: error.code, message: error.message, ...error.details } } };
      }
      // The client went away mid-upload: nobody reads this answer, and it is no bug.
      if (CLIENT_GONE.has((error as { code?: string }).code ?? '') || (error as Error).name === 'AbortError') {
        context.log(`the client went away before ${context.functionName} ended: ${(error as Error).message}`);
        return { status: 400, jsonBody: { error: { code: 'upload_cut_off', message: 'the request was cut off before its end' } } };
      }
      context.error(`unexpected error in ${context.functionName}:`, error);
      return {
        status: 500,
        jsonBody: { error: { code: 'internal', message: `unexpected error; see the log of invocation ${context.invocationId}` } },
      };
    }
  };
}

/** The table named `name` (from a route or a query), or 404. */
export function requireTable(name: string): TableDef {
  const table = findTable(name);
  if (!table) throw new NotFoundError(`no table "${name}": the tables are ${TABLES.map((t) => t.name).join(', ')}`, 'table_not_found');
  return table;
}

/** The `{table}` route parameter as a table definition, or 404. */
export function tableParam(request: HttpRequest): TableDef {
  return requireTable(request.params.table ?? '');
}

export function queryInt(request: HttpRequest, name: string, options: { min: number; max: number; default: number }): number {
  const text = request.query.get(name);
  if (text === null || text === '') return options.default;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= options.min && value <= options.max)) {
    throw new InvalidInputError(
      `query parameter "${name}" must be a whole number from ${options.min} to ${options.max}; got "${text}"`,
      'bad_query',
    );
  }
  return value;
}

export function queryBool(request: HttpRequest, name: string): boolean {
  const text = request.query.get(name);
  if (text === null || text === '' || text === 'false') return false;
  if (text === 'true') return true;
  throw new InvalidInputError(`query parameter "${name}" must be true or false; got "${text}"`, 'bad_query');
}

export function queryChoice<T extends string>(request: HttpRequest, name: string, choices: readonly T[], fallback: T): T {
  const text = request.query.get(name);
  if (text === null || text === '') return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new InvalidInputError(`query parameter "${name}" must be one of ${choices.join(', ')}; got "${text}"`, 'bad_query');
  }
  return text as T;
}

/**
 * The response format of a report: `?format=json|csv` if given (anything else is a 400), else CSV
 * if the Accept header names text/csv, else JSON.
 */
export function responseFormat(request: HttpRequest): 'json' | 'csv' {
  const format = request.query.get('format');
  if (format !== null && format !== '') return queryChoice(request, 'format', ['json', 'csv'], 'json');
  return /(^|[\s,])text\/csv\s*(;|,|$)/i.test(request.headers.get('accept') ?? '') ? 'csv' : 'json';
}

/** A small CSV file (header row, CRLF line ends) as a download. */
export function csvResponse<T extends object>(
  filename: string,
  columns: readonly (keyof T & string)[],
  rows: readonly T[],
): HttpResponseInit {
  // A name a spreadsheet would run as a formula is written as text (fixFormat.ts).
  const cell = (value: unknown) => (typeof value === 'string' ? escapeCell(value) : value);
  const body = Papa.unparse([columns, ...rows.map((row) => columns.map((c) => cell(row[c])))], { newline: '\r\n' }) + '\r\n';
  return { status: 200, headers: downloadHeaders(filename), body };
}

/** A CSV download's headers: its name, and no sniffing it into something a browser would run. */
export function downloadHeaders(filename: string): Record<string, string> {
  return {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${filename}"`,
    'x-content-type-options': 'nosniff',
  };
}

/** The body's media type, lowercased, without parameters; 415 unless it is one of `accepted`. */
export function mediaType<T extends string>(request: HttpRequest, accepted: readonly T[]): T {
  const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!(accepted as readonly string[]).includes(type)) {
    throw new UnsupportedFormatError(`Content-Type must be ${accepted.join(' or ')}; got "${type || 'none'}"`);
  }
  return type as T;
}

/** The request body as a stream of bytes (empty if there is none). */
export async function* bodyBytes(request: HttpRequest): AsyncIterable<Uint8Array> {
  if (request.body) yield* request.body as unknown as AsyncIterable<Uint8Array>;
}

/** Reads a whole body of at most `maxBytes`: 413 past the limit. */
export async function bodyBuffer(request: HttpRequest, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of bodyBytes(request)) {
    size += chunk.length;
    if (size > maxBytes) throw new TooLargeError(`the body exceeds ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads a whole body of at most `maxBytes` as UTF-8 text: 413 past the limit, 400 if not UTF-8. */
export async function bodyText(request: HttpRequest, maxBytes: number): Promise<string> {
  const bytes = await bodyBuffer(request, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidInputError('the body is not valid UTF-8', 'bad_encoding');
  }
}

/**
 * Sends each rejected row's position and reasons to the function's log at debug level, never its
 * data (employee names): a run's summary line (logRun) is what the log keeps by default.
 */
export function logRejections(context: InvocationContext, runId?: string): RejectionLogger {
  const prefix = runId ? `[run ${runId}] ` : '';
  return (table, { source, reasons }) =>
    context.debug(`${prefix}rejected ${table.name} row ${source.position}: ${describeReasons(reasons)}`);
}

/** One line per run: its counts and most frequent reasons. */
export function logRun(
  context: InvocationContext,
  what: string,
  result: {
    runId: string;
    table: string;
    received: number;
    inserted: number;
    skipped: number;
    rejected: number;
    reasons: { reason: string; rows: number }[];
    warning?: string;
  },
): void {
  const reasons = result.reasons.map((r) => `${r.rows} × ${r.reason}`).join('; ');
  context.log(
    `${what} ${result.runId} into ${result.table}: received ${result.received}, inserted ${result.inserted}, skipped ${result.skipped}, rejected ${result.rejected}` +
      (reasons ? `; reasons: ${reasons}` : '') +
      (result.warning ? `; warning: ${result.warning}` : ''),
  );
}

/**
 * A restore's JSON body: `{}` (or no body), or `{"<target>":"<name>"}`, with `"safety":false`
 * to skip the safety backup.
 */
export async function restoreRequest<K extends 'backup' | 'set'>(
  request: HttpRequest,
  target: K,
): Promise<{ safety?: boolean } & { [key in K]?: unknown }> {
  const text = await bodyText(request, 64 * 1024);
  if (text.trim() === '') return {};
  mediaType(request, ['application/json']);
  const body = parseJson(text);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidInputError('the body must be a JSON object', 'bad_restore_request');
  const { [target]: name, safety, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length)
    throw new InvalidInputError(`unknown keys ${unknown.join(', ')}: the body takes "${target}" and "safety"`, 'bad_restore_request');
  if (safety !== undefined && typeof safety !== 'boolean')
    throw new InvalidInputError('"safety" must be true or false', 'bad_restore_request');
  return { [target]: name, safety } as { safety?: boolean } & { [key in K]?: unknown };
}

/**
 * A restore's Idempotency-Key header (1 to 200 visible ASCII characters) and who asked, for its
 * audit record: the signed-in identity where App Service authentication provides one, else the
 * master key that the admin level requires on Azure (the local host checks no key).
 */
export function restoreOptions(request: HttpRequest): Omit<RestoreOptions, 'safety'> {
  const key = idempotencyKey(request);
  const principal = request.headers.get('x-ms-client-principal-name');
  const who = principal ? `identity ${principal}` : process.env.WEBSITE_INSTANCE_ID ? 'master key' : 'local host (no key check)';
  return { ...(key !== undefined && { idempotencyKey: key }), who };
}

/** The Idempotency-Key header: 1 to 200 visible ASCII characters, or absent. */
export function idempotencyKey(request: HttpRequest): string | undefined {
  const key = request.headers.get('idempotency-key');
  if (key !== null && !/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new InvalidInputError('the Idempotency-Key header must be 1 to 200 visible ASCII characters', 'bad_idempotency_key');
  }
  return key ?? undefined;
}

/** A run id from the route: a UUID, or a 400. */
export function runIdParam(request: HttpRequest): string {
  const runId = request.params.runId ?? '';
  if (!UUID.test(runId)) throw new InvalidInputError(`runId must be a UUID; got "${runId}"`, 'bad_run_id');
  return runId.toLowerCase();
}

/** A run's answer while it is queued or running: 202 (or 200 for one that existed), where to poll, and how soon. */
export function acceptedRun(run: RunRecord, created: boolean): HttpResponseInit {
  return {
    status: created ? 202 : 200,
    headers: { location: `/api/runs/${run.id}`, 'retry-after': '5' },
    jsonBody: describeRun(run),
  };
}

export function json(jsonBody: unknown, status = 200): HttpResponseInit {
  return { status, jsonBody };
}

/** A 200 whose JSON body is already text. */
export function jsonText(body: string): HttpResponseInit {
  return { status: 200, headers: { 'content-type': 'application/json' }, body };
}
