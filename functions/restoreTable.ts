import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { restoreTable as restore } from '../shared/backup/restoreTable';
import { BadRequestError } from '../shared/errors';
import { parseJson } from '../shared/ingest/jsonArray';
import { getServices, requireBackups } from '../shared/services';
import { bodyText, json, jsonErrors, mediaType, tableParam } from './lib/http';

/**
 * POST /api/tables/{table}/restore with {"backup":"<name>"}, or {} for the newest; add
 * "safety":false to skip the safety backup of the current rows.
 */
export async function restoreTable(request: HttpRequest): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const text = await bodyText(request, 64 * 1024);
  if (text.trim() !== '') mediaType(request, ['application/json']);
  const body = parseRestoreRequest(text);
  const services = await getServices();
  return json(await restore(services.db, requireBackups(services), table, body));
}

function parseRestoreRequest(text: string): { backup?: unknown; safety?: boolean } {
  if (text.trim() === '') return {};
  const body = parseJson(text);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('the body must be a JSON object', 'bad_restore_request');
  const { backup, safety, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new BadRequestError(`unknown keys ${unknown.join(', ')}: the body takes "backup" and "safety"`, 'bad_restore_request');
  if (safety !== undefined && typeof safety !== 'boolean') throw new BadRequestError('"safety" must be true or false', 'bad_restore_request');
  return { backup, safety };
}

app.http('restoreTable', {
  methods: ['POST'],
  route: 'tables/{table}/restore',
  authLevel: 'function',
  handler: jsonErrors(restoreTable),
});
