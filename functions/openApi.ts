import { app, type HttpResponseInit } from '@azure/functions';
import { json, jsonErrors } from './lib/http';
import { OPENAPI_DOCUMENT } from './lib/openapi';

/** GET /api/openapi.json — the OpenAPI 3.1 description of every route. */
export async function openApi(): Promise<HttpResponseInit> {
  return json(OPENAPI_DOCUMENT);
}

app.http('openApi', {
  methods: ['GET'],
  route: 'openapi.json',
  authLevel: 'function',
  handler: jsonErrors(openApi, []),
});
