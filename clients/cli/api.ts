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
export type { BackupInfo, BackupSet, RejectionRecord, SetRestoreResponse, TableRestoreResponse };

/** A request with no answer (or no end to its answer) in this time is given up as unreachable; a download's body may take longer. */
const ANSWER_TIMEOUT_MS = 30_000;

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
    const { response, answered } = await this.send(method, route, options);
    try {
      const text = await this.read(() => response.text());
      const body = parseJson(text);
      if (body === undefined) {
        const type = response.headers.get('content-type') ?? 'no content type';
        throw new ApiError(
          response.status,
          'not_json',
          `${this.where()} answered ${response.status} with ${type}, not JSON: check --url (CSV2SQL_URL), which should be the function app's base URL`,
        );
      }
      return { status: response.status, body: body as T };
    } finally {
      answered();
    }
  }

  /** A download (CSV), as it streams; a connection lost midway is unreachable, as one never made. */
  async download(route: string): Promise<Readable> {
    const { response, answered } = await this.send('GET', route, {});
    answered();
    return response.body
      ? Readable.from(lostAsUnreachable(response.body as WebReadableStream<Uint8Array>, this.where()))
      : Readable.from([]);
  }

  /** The request, answered with a 2xx; `answered()` stops its timeout once the caller has what it waits for. */
  private async send(
    method: 'GET' | 'POST',
    route: string,
    options: RequestOptions,
  ): Promise<{ response: Response; answered: () => void }> {
    const key = options.admin ? (this.settings.adminKey ?? this.settings.key) : this.settings.key;
    const headers: Record<string, string> = {
      ...(key && { 'x-functions-key': key }),
      // The service takes a POST only as JSON or CSV, even without a body (what a web page cannot send unasked).
      ...(method === 'POST' && { 'content-type': 'application/json' }),
    };
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`, 'TimeoutError')),
      ANSWER_TIMEOUT_MS,
    );
    const answered = () => clearTimeout(timer);
    let response: Response;
    try {
      response = await this.read(() =>
        fetch(this.url(route), {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: options.signal ? AbortSignal.any([timeout.signal, options.signal]) : timeout.signal,
          // Followed, a redirect would take the key to wherever it points.
          redirect: 'manual',
        }),
      );
    } catch (error) {
      answered();
      throw error;
    }
    if (response.ok) return { response, answered };
    answered();
    if (response.status >= 300 && response.status < 400) {
      throw new ApiError(
        response.status,
        'redirected',
        `${this.where()} answered ${response.status}, a redirect to ${response.headers.get('location') ?? 'nowhere'}: csv2sql does not follow redirects (they would take the key along); pass the URL it should use as --url`,
      );
    }
    throw await apiError(response);
  }

  /** A network failure (no connection, one lost, no answer in time) as unreachable; Ctrl+C as itself. */
  private async read<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new UnreachableError(this.where(), error);
    }
  }

  private where(): string {
    return `the service at ${this.settings.url}`;
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

async function* lostAsUnreachable(body: AsyncIterable<Uint8Array>, where: string): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    throw new UnreachableError(where, error);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
