/**
 * Converts between Node's HTTP server and the @azure/functions request/response types, streaming
 * both bodies: an upload reaches the handler as it arrives, never buffered whole.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  HttpRequest,
  HttpResponse,
  InvocationContext,
  type HttpRequestInit,
  type HttpResponseInit,
  type TriggerMetadata,
} from '@azure/functions';

export function toHttpRequest(req: IncomingMessage, url: URL, params: Record<string, string>): HttpRequest {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const nativeRequest = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    duplex: 'half',
  } as RequestInit);
  // `nativeRequest` is how @azure/functions itself builds a streaming request (createStreamRequest).
  return new HttpRequest({ nativeRequest, params } as HttpRequestInit);
}

export function newInvocationContext(functionName: string, triggerMetadata?: TriggerMetadata): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    triggerMetadata,
    logHandler: (level, ...args) => {
      if (level === 'trace' || level === 'debug') return;
      const line = [`[${functionName}]`, ...args];
      if (level === 'error' || level === 'critical' || level === 'warning') console.error(...line);
      else console.log(...line);
    },
  });
}

export async function sendResponse(
  req: IncomingMessage,
  res: ServerResponse,
  result: HttpResponseInit | HttpResponse | undefined,
): Promise<void> {
  const response = result instanceof HttpResponse ? result : new HttpResponse(result ?? { status: 204 });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  // Answered before the whole request body was read (e.g. 413, 415): the rest of it is still on the
  // connection, so the connection cannot carry another request.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(response.status, headers);
  if (response.body) await pipeline(Readable.fromWeb(response.body as WebReadableStream), res);
  else res.end();
}

export function sendJsonError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...(req.complete ? {} : { connection: 'close' }) });
  res.end(JSON.stringify({ error: { code, message } }));
}
