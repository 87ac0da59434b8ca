// Bundles the dashboard into dist/dashboard with esbuild: one script and one stylesheet named by
// their content's hash, and the page that names them. No CDN at run time. Plain JavaScript: the
// function app's remote build runs it before anything else is compiled.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const SOURCE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(SOURCE, '..', '..', 'dist', 'dashboard');

fs.rmSync(OUT, { recursive: true, force: true });
const result = await build({
  entryPoints: { app: path.join(SOURCE, 'main.ts') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: OUT,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const named = (ext) => {
  const name = outputs.find((file) => file.endsWith(ext));
  if (!name) throw new Error(`esbuild wrote no ${ext} file`);
  return name;
};
const html = fs
  .readFileSync(path.join(SOURCE, 'index.html'), 'utf8')
  .replaceAll('{{appJs}}', named('.js'))
  .replaceAll('{{appCss}}', named('.css'));
fs.writeFileSync(path.join(OUT, 'index.html'), html);
console.log(`dashboard: ${outputs.map((file) => `${file} ${fs.statSync(path.join(OUT, file)).size} B`).join(', ')}`);
