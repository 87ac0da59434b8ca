/**
 * Validates a response of the service against its OpenAPI document (functions/lib/openapi.ts):
 * its route, method and status must be described, and a JSON body must match the schema given
 * for it. The HTTP helpers call it on every response, so a response that drifts from the
 * document fails the test that received it.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { OPENAPI_DOCUMENT } from '../../functions/lib/openapi';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(OPENAPI_DOCUMENT, 'openapi');

type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
const PATHS = OPENAPI_DOCUMENT.paths as unknown as Record<string, Record<string, Operation>>;
const TEMPLATES = Object.keys(PATHS).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));
const compiled = new Map<string, ValidateFunction>();

/** A validator of the schema at `pointer` in the document (its path segments, unescaped). */
export function validator(pointer: string[]): ValidateFunction {
  const ref = `openapi#/${pointer.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
  let validate = compiled.get(ref);
  if (!validate) compiled.set(ref, (validate = ajv.compile({ $ref: ref })));
  return validate;
}

/** Throws when the response is not as the document describes it. */
export function assertDocumented(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
  const { pathname } = new URL(url);
  if (!pathname.startsWith('/api/')) return;
  const route = TEMPLATES.find((t) => t.pattern.test(pathname.slice(4)));
  const operation = route && PATHS[route.template][method.toLowerCase()];
  const where = `${method} ${pathname} ${status}`;
  if (!route || !operation) {
    // No such route or method: the host's own 404 or 405, in the error shape.
    if (body !== undefined) check(validator(['components', 'schemas', 'Error']), body, where);
    return;
  }
  const key = String(status) in operation.responses ? String(status) : 'default';
  const response = operation.responses[key];
  if (!response) throw new Error(`${where}: the OpenAPI document describes no such status for ${method} ${route.template}`);
  if (!response.content || status === 204) return;
  const media = (contentType ?? '').split(';')[0].trim();
  if (!(media in response.content)) {
    throw new Error(
      `${where}: ${media || 'no content type'} is not a documented content type (${Object.keys(response.content).join(', ')})`,
    );
  }
  if (media === 'application/json' && body !== undefined) {
    check(validator(['paths', route.template, method.toLowerCase(), 'responses', key, 'content', media, 'schema']), body, where);
  }
}

function check(validate: ValidateFunction, body: unknown, where: string): void {
  if (!validate(body)) {
    const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new Error(
      `${where}: the body does not match the OpenAPI document: ${problems.join('; ')}\n${JSON.stringify(body).slice(0, 500)}`,
    );
  }
}
