import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { NotFoundError } from '../shared/errors';
import { CONTENT_TYPES, dashboardAsset, dashboardPage } from './lib/dashboardFiles';
import { jsonErrors } from './lib/http';

/** The page runs only its own script, talks only to its own origin, and is framed by no other site. */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // The page's URL carries the function key: no link or request may send it on.
  'referrer-policy': 'no-referrer',
};

/**
 * GET /api/dashboard — the stakeholders' metrics and the operator's console, one page; its
 * assets under /api/dashboard/<name>. On Azure the page's `?code=` is passed on to its assets.
 */
export async function dashboard(request: HttpRequest): Promise<HttpResponseInit> {
  const name = request.params.asset ?? '';
  if (name === '' || name === 'index.html') {
    return {
      status: 200,
      headers: { ...PAGE_HEADERS, 'content-type': CONTENT_TYPES['.html'], 'cache-control': 'no-store' },
      body: dashboardPage(new URL(request.url)),
    };
  }
  const asset = dashboardAsset(name);
  if (!asset) throw new NotFoundError(`the dashboard has no file "${name}"`, 'asset_not_found');
  // Asset names carry a hash of their content (clients/dashboard/build.mjs): a name never changes content.
  return {
    status: 200,
    headers: { ...PAGE_HEADERS, 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable' },
    body: asset.body,
  };
}

app.http('dashboard', {
  methods: ['GET'],
  route: 'dashboard/{*asset}',
  authLevel: 'function',
  handler: jsonErrors(dashboard, []),
});
