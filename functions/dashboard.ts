import fs from 'node:fs';
import path from 'node:path';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { NotFoundError } from '../shared/errors';
import { jsonErrors } from './lib/http';

/** Where `npm run build` writes the page (tools/buildDashboard.ts): beside the compiled functions. */
const DASHBOARD_DIR = path.join(__dirname, '..', 'dashboard');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page runs only its own script, talks only to its own origin, and is framed by no other site. */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // The page's URL carries the function key: no link or request may send it on.
  'referrer-policy': 'no-referrer',
};

let files: Map<string, Buffer> | undefined;

/** The built files by name, read once: a fixed set, so no path from a request reaches the file system. */
function builtFiles(): Map<string, Buffer> {
  if (!files) {
    if (!fs.existsSync(DASHBOARD_DIR)) throw new NotFoundError('the dashboard is not built: run `npm run build`', 'dashboard_not_built');
    files = new Map(fs.readdirSync(DASHBOARD_DIR).map((name) => [name, fs.readFileSync(path.join(DASHBOARD_DIR, name))]));
  }
  return files;
}

/**
 * GET /api/dashboard — the stakeholders' metrics and the operator's console, one page; its
 * assets under /api/dashboard/<name>. On Azure the page's `?code=` is passed on to its assets.
 */
export async function dashboard(request: HttpRequest): Promise<HttpResponseInit> {
  const asset = request.params.asset ?? '';
  if (asset === '' || asset === 'index.html') return page(request);
  const body = builtFiles().get(asset);
  const type = CONTENT_TYPES[path.extname(asset)];
  if (!body || !type || asset.startsWith('index')) throw new NotFoundError(`the dashboard has no file "${asset}"`, 'asset_not_found');
  // Asset names carry a hash of their content (tools/buildDashboard.ts): a name never changes content.
  return { status: 200, headers: { ...PAGE_HEADERS, 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' }, body };
}

function page(request: HttpRequest): HttpResponseInit {
  const template = builtFiles().get('index.html');
  if (!template) throw new NotFoundError('the dashboard is not built: run `npm run build`', 'dashboard_not_built');
  const url = new URL(request.url);
  const code = url.searchParams.get('code');
  // The base ends in "dashboard/" however the page was asked for, so relative links reach /api/dashboard/<asset> and /api/<route>.
  const base = url.pathname.replace(/\/(index\.html)?$/, '') + '/';
  const html = template
    .toString('utf8')
    .replaceAll('{{base}}', escapeAttribute(base))
    .replaceAll('{{assetQuery}}', code ? `?code=${escapeAttribute(encodeURIComponent(code))}` : '');
  return { status: 200, headers: { ...PAGE_HEADERS, 'content-type': CONTENT_TYPES['.html'], 'cache-control': 'no-store' }, body: html };
}

function escapeAttribute(text: string): string {
  return text.replace(/[&"'<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}

app.http('dashboard', {
  methods: ['GET'],
  route: 'dashboard/{*asset}',
  authLevel: 'function',
  handler: jsonErrors(dashboard, []),
});
