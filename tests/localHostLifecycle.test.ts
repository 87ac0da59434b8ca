/**
 * The local host's life as a person lives it: one host per data folder, a folder left by a killed
 * host taken over, and Ctrl+C stopping it quietly, even in the middle of a load.
 */
import http from 'node:http';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { get, removeDir, startHost, tempDir, type HostHandle } from './helpers/localHost';

const hosts: HostHandle[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  for (const dir of dirs) removeDir(dir);
});

describe('one local host per DATA_DIR', () => {
  it('a second host on the same folder refuses to start and says why; after a kill, the folder is taken over', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const first = await startHost({ dataDir: dir });
    hosts.push(first);
    // It says how to reach the Azurite it started (on the line after the one the helper waits for).
    for (let i = 0; i < 40 && !first.output().includes('connection string'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(first.output()).toContain(`connection string (for Storage Explorer, az storage, the tests): ${first.storageConnection}`);
    const second = await startHost({ dataDir: dir }).then(
      (h) => (hosts.push(h), new Error('the second host started')),
      (e: Error) => e,
    );
    expect(second.message).toMatch(/local host not started: another local host \(process \d+\) is using DATA_DIR/);
    expect(second.message).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect((await get(first.url, '/api/health')).status).toBe(200);

    await first.kill();
    const third = await startHost({ dataDir: dir });
    hosts.push(third);
    expect((await get(third.url, '/api/health')).status).toBe(200);
  });
});

describe('Ctrl+C', () => {
  it('stops the host quietly, even during a load: exit code 0, no stack traces', async () => {
    const host = await startHost();
    hosts.push(host);
    dirs.push(host.dataDir);
    const req = http.request(`${host.url}/api/tables/departments/load`, { method: 'POST', headers: { 'content-type': 'text/csv' } });
    req.on('error', () => undefined);
    req.on('response', (res) => res.resume());
    req.write('1,Support\n');
    await new Promise((r) => setTimeout(r, 300));
    const exited = once(host.process, 'exit');
    host.process.kill('SIGINT');
    const [code] = await exited;
    req.destroy();
    expect(code).toBe(0);
    expect(host.output()).not.toMatch(/\n\s+at |Cannot close server|ERR_STREAM_PREMATURE_CLOSE|Unhandled/);
  });
});
