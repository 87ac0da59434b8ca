/** The dashboard's built files (clients/dashboard/build.mjs writes them to dist/dashboard), read once, and its page for one request. */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../../shared/errors';

const DASHBOARD_DIR = path.join(__dirname, '..', '..', 'dashboard');

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

let files: Map<string, Buffer> | undefined;

/** The built files by name: a fixed set, so no path from a request reaches the file system. */
function builtFiles(): Map<string, Buffer> {
  if (!files) {
    if (!fs.existsSync(path.join(DASHBOARD_DIR, 'index.html')))
      throw new ConfigurationError('the dashboard is not built: run `npm run build`', 'dashboard_not_built');
    files = new Map(fs.readdirSync(DASHBOARD_DIR).map((name) => [name, fs.readFileSync(path.join(DASHBOARD_DIR, name))]));
  }
  return files;
}

/** A script or stylesheet of the page, by its name; undefined for any other name. */
export function dashboardAsset(name: string): { body: Buffer; type: string } | undefined {
  const type = CONTENT_TYPES[path.extname(name)];
  const body = name === 'index.html' ? undefined : builtFiles().get(name);
  return body && type ? { body, type } : undefined;
}

/**
 * The page as asked for at `url`: its base ends in "dashboard/" however it was asked for, so that
 * relative links reach /api/dashboard/<asset> and /api/<route>, and its assets carry the page's key.
 */
export function dashboardPage(url: URL): string {
  const code = url.searchParams.get('code');
  const base = url.pathname.replace(/\/(index\.html)?$/, '') + '/';
  const assetQuery = code ? `?code=${escapeAttribute(encodeURIComponent(code))}` : '';
  return builtFiles()
    .get('index.html')!
    .toString('utf8')
    .replaceAll('{{base}}', () => escapeAttribute(base))
    .replaceAll('{{assetQuery}}', () => assetQuery);
}

function escapeAttribute(text: string): string {
  return text.replace(/[&"'<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}
