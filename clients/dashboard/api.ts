/**
 * The service's HTTP API as the page calls it: routes relative to the page's base (…/api/dashboard/),
 * the page's function key (its `?code=`) sent as a header, and the admin key for what needs it.
 */
import { ApiError } from './ApiError';

const FUNCTION_KEY = new URLSearchParams(location.search).get('code');
const ADMIN_KEY_ITEM = 'csv2sql.adminKey';

type Query = Record<string, string | number | boolean | undefined>;

/** The URL of an API route, e.g. `metrics/years`. */
function routeUrl(route: string, query: Query = {}): URL {
  const url = new URL(`../${route}`, document.baseURI);
  for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
  return url;
}

/** A link to a download: a link cannot send a header, so the key goes in the query, as on the page's own URL. */
export function downloadUrl(route: string, query: Query = {}): string {
  return routeUrl(route, FUNCTION_KEY ? { ...query, code: FUNCTION_KEY } : query).href;
}

async function call<T>(method: string, route: string, options: { query?: Query; body?: unknown; key?: string | null } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = options.key ?? FUNCTION_KEY;
  if (key) headers['x-functions-key'] = key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(routeUrl(route, options.query), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `${method} ${route} answered ${response.status}`);
  }
  return body as T;
}

export function getJson<T>(route: string, query?: Query): Promise<T> {
  return call<T>('GET', route, { query });
}

/** A POST with the admin key (the console's restores). */
export function postAsAdmin<T>(route: string, body: unknown): Promise<T> {
  return call<T>('POST', route, { body, key: adminKey() });
}

/** The admin key the operator typed, kept for this tab only (session storage), never in a cookie or the URL. */
export function adminKey(): string {
  return sessionStorage.getItem(ADMIN_KEY_ITEM) ?? '';
}

export function setAdminKey(key: string): void {
  if (key) sessionStorage.setItem(ADMIN_KEY_ITEM, key);
  else sessionStorage.removeItem(ADMIN_KEY_ITEM);
}
