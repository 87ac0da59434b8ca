/**
 * The OpenAPI document describes every route the function app registers, with each method, and
 * its row schemas are the table definitions' rules. (Every HTTP test also validates each response
 * it receives against the document: tests/helpers/openapi.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPENAPI_DOCUMENT } from '../functions/lib/openapi';
import { openApi } from '../functions/openApi';
import { TABLES } from '../shared/tables';
import { MAX_TEXT_LENGTH } from '../shared/rules';
import { ROOT } from './helpers/localHost';
import { validator } from './helpers/openapi';

/** Each function file's route and methods, as it registers them. */
function registeredRoutes(): { route: string; methods: string[] }[] {
  const dir = path.join(ROOT, 'functions');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => {
      const source = fs.readFileSync(path.join(dir, f), 'utf8');
      const route = /route: '([^']+)'/.exec(source)?.[1];
      const methods = /methods: \[([^\]]+)\]/.exec(source)?.[1];
      return route && methods ? [{ route, methods: [...methods.matchAll(/'([A-Z]+)'/g)].map((m) => m[1]) }] : [];
    });
}

describe('the OpenAPI document', () => {
  it('describes every route and method the function app registers, and no other', () => {
    const registered = registeredRoutes();
    expect(registered.length).toBeGreaterThan(15);
    const paths = OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>;
    const documented = Object.entries(paths).flatMap(([route, item]) =>
      Object.keys(item)
        .filter((k) => k !== 'parameters')
        .map((method) => `${method.toUpperCase()} /${route.slice(1)}`),
    );
    // A catch-all parameter ({*asset}) matches the route without it too.
    const templates = (route: string) => {
      const catchAll = /^(.*)\/\{\*(\w+)\}$/.exec(route);
      return catchAll ? [catchAll[1], `${catchAll[1]}/{${catchAll[2]}}`] : [route];
    };
    const actual = registered.flatMap(({ route, methods }) => templates(route).flatMap((t) => methods.map((m) => `${m} /${t}`)));
    expect(documented.sort()).toEqual(actual.sort());
  });

  it("holds each table's rows to the rules: columns, ids and text lengths", () => {
    for (const table of TABLES) {
      const validate = validator(['components', 'schemas', `${table.name}_row`]);
      const valid = Object.fromEntries(
        table.columns.map((c) => [c.name, c.type === 'id' ? 1 : c.type === 'text' ? 'x'.repeat(MAX_TEXT_LENGTH) : '2021-01-01T00:00:00Z']),
      );
      expect(validate(valid)).toBe(true);
      const text = table.columns.find((c) => c.type === 'text')!;
      expect(validate({ ...valid, [text.name]: 'x'.repeat(MAX_TEXT_LENGTH + 1) })).toBe(false);
      expect(validate({ ...valid, id: 0 })).toBe(false);
      expect(validate({ ...valid, extra: 1 })).toBe(false);
    }
  });

  it('is served as JSON, OpenAPI 3.1', async () => {
    const response = await openApi();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({ openapi: '3.1.0', servers: [{ url: '/api' }] });
  });
});
