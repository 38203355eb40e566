/**
 * The one way the UI talks to Gantry: JSON over fetch with the session cookie,
 * the CSRF token on writes, and errors turned into ApiError with the server's
 * message. A 401 sends the browser to the sign-in page and back.
 */
import type { SessionInfo } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';

/** Remembers the CSRF token of the signed-in session (from GET /api/session). */
export function setCsrfToken(token: string): void {
  csrf = token;
}

export function signInUrl(): string {
  const next = location.pathname + location.search;
  return `/login?next=${encodeURIComponent(next)}`;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = 'GANTRY_HTTP';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message = body.error.message;
    if (body.error?.code) code = body.error.code;
  } catch {
    // Not JSON (a proxy's page): the status line is the best we have.
    message = `${res.status} ${res.statusText || 'error'}`;
  }
  return new ApiError(res.status, code, message);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** JSON-encoded unless it is a Blob/ArrayBuffer (sent as is with its type). */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** Raw response of an API call; throws ApiError unless 2xx. */
export async function request(path: string, opts: RequestOptions = {}): Promise<Response> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.body instanceof Blob || opts.body instanceof ArrayBuffer) {
    body = opts.body;
    headers['content-type'] = opts.contentType ?? 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  if (res.status === 401) {
    location.assign(signInUrl());
    throw new ApiError(401, 'GANTRY_UNAUTHORIZED', 'Your session has ended: sign in again.');
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

/** JSON of an API call (undefined for 204). */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(path, opts);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

/** `/api/apps/NAME/…` with the name escaped. */
export function appPath(app: string, rest = ''): string {
  return `/api/apps/${encodeURIComponent(app)}${rest}`;
}

export async function loadSession(): Promise<SessionInfo> {
  const s = await api<SessionInfo>('/api/session');
  setCsrfToken(s.csrfToken);
  return s;
}

/** Signs out with a form post (the server clears the cookie and sends us to /login). */
export function signOut(): void {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = '/logout';
  const input = document.createElement('input');
  input.type = 'hidden';
  input.name = 'csrf';
  input.value = csrf;
  form.append(input);
  document.body.append(form);
  form.submit();
}
