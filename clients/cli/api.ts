/**
 * The service's HTTP API as csv2sql calls it: the function key on every request, JSON in and
 * out, and every failure as one of csv2sql's errors (the service's own JSON error, or no answer).
 * The response types are the service's own, so the client cannot drift from them.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { describeRun } from '../../shared/ingest/runs';
import type { RejectionRecord } from '../../shared/db';
import type { BackupInfo, BackupSet } from '../../shared/backup/BackupStore';
import type { SetRestoreResponse, TableRestoreResponse } from '../../shared/backup/restore';
import { ApiError } from './ApiError';
import { UnreachableError } from './UnreachableError';

export type Run = ReturnType<typeof describeRun>;
export type Rejection = RejectionRecord;
export type { BackupInfo, BackupSet };
export type { SetRestoreResponse as SetRestore, TableRestoreResponse as TableRestore };

export interface ApiSettings {
  /** The service's base URL, without a trailing slash. */
  readonly url: string;
  /** Sent as x-functions-key (Azure checks it; the local host takes none). */
  readonly key?: string;
  /** The master key, for the admin-level routes (restores); the function key when absent. */
  readonly adminKey?: string;
}

interface RequestOptions {
  readonly body?: unknown;
  readonly admin?: boolean;
  readonly signal?: AbortSignal;
}

export class Api {
  constructor(private readonly settings: ApiSettings) {}

  /** The absolute URL of a route under /api, as printed for a person to open (never with the key). */
  url(route: string): string {
    return `${this.settings.url}/api/${route}`;
  }

  async get<T>(route: string, signal?: AbortSignal): Promise<T> {
    return (await this.request<T>('GET', route, { signal })).body;
  }

  async post<T>(route: string, body?: unknown, options: { admin?: boolean } = {}): Promise<T> {
    return (await this.request<T>('POST', route, { body, ...options })).body;
  }

  /** A JSON request, with its status: 200 and 202 can mean different things (an existing run, a new one). */
  async request<T>(method: 'GET' | 'POST', route: string, options: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const response = await this.send(method, route, options);
    return { status: response.status, body: (await response.json()) as T };
  }

  /** A download (CSV), as it streams. */
  async download(route: string): Promise<Readable> {
    const response = await this.send('GET', route, {});
    return response.body ? Readable.fromWeb(response.body as WebReadableStream) : Readable.from([]);
  }

  private async send(method: 'GET' | 'POST', route: string, options: RequestOptions): Promise<Response> {
    const key = options.admin ? (this.settings.adminKey ?? this.settings.key) : this.settings.key;
    const headers: Record<string, string> = {
      ...(key && { 'x-functions-key': key }),
      // The service takes a POST only as JSON or CSV, even without a body (what a web page cannot send unasked).
      ...(method === 'POST' && { 'content-type': 'application/json' }),
    };
    let response: Response;
    try {
      response = await fetch(this.url(route), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new UnreachableError(`the service at ${this.settings.url}`, error);
    }
    if (!response.ok) throw await apiError(response);
    return response;
  }
}

/** The service's `{"error":{"code","message",...}}`, or what a gateway answered instead (Azure's 401 for a missing key has no body). */
async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  const { code, message, ...details } = (parseJson(text) as { error?: Record<string, unknown> } | undefined)?.error ?? {};
  if (typeof code === 'string' && typeof message === 'string') return new ApiError(response.status, code, message, details);
  const hint =
    response.status === 401 || response.status === 403 ? ': the service wants a key (--key or CSV2SQL_KEY; --admin-key for a restore)' : '';
  const body = text.trim() ? `: ${text.trim().slice(0, 200)}` : '';
  return new ApiError(response.status, `http_${response.status}`, `${response.status} ${response.statusText}${hint}${body}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
