/**
 * Hostile input against the local host, with its memory measured where memory is the point: a
 * 2 GB file that is one line is rejected as one record, and the load goes on, within 200 MB.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peakRssKib, resetPeakRss } from '../bench/processMemory';
import { readApiResponse, startHost, tableCounts, type HostHandle } from './helpers/localHost';

let host: HostHandle;
beforeAll(async () => {
  host = await startHost();
});
afterAll(async () => {
  await host?.stop();
});

/** Streams `count` chunks of `chunk`, then `tail`, as a text/csv load; never holds more than a chunk. */
function streamLoad(route: string, chunk: Buffer, count: number, tail: string) {
  return new Promise<Awaited<ReturnType<typeof readApiResponse>>>((resolve, reject) => {
    const req = http.request(host.url + route, { method: 'POST', headers: { 'content-type': 'text/csv' } }, (res) => readApiResponse(res).then(resolve, reject));
    req.on('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < count) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end(tail);
    };
    write();
  });
}

describe('a load of a 2 GB file that is a single line', () => {
  it('rejects it as one record_too_long row, loads the line after it, and the host stays under 200 MB', async () => {
    resetPeakRss(host.process.pid!);
    const started = Date.now();
    const res = await streamLoad('/api/tables/departments/load', Buffer.alloc(1024 * 1024, 'x'), 2048, '\n7,After the long line\n');
    const peakMb = peakRssKib(host.process.pid!) / 1024;
    console.log(`2 GB single line: ${((Date.now() - started) / 1000).toFixed(1)} s, host peak RSS ${peakMb.toFixed(0)} MB`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 2, inserted: 1, rejected: 1, status: 'succeeded' });
    expect((await tableCounts(host.url)).departments).toBe(1);
    expect(peakMb).toBeLessThan(200);
  }, 300_000);
});
