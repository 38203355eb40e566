/**
 * Typed client of the Gantry HTTP API (the CLI's only way to the server).
 * Uses the global fetch; errors come back as ApiError with the server's
 * stable code and one-line message.
 */
import type { AppInfo, AppSummary, BuildInfo, ReleaseInfo, User } from '../api/index.js';
import type { ProcessStatus } from '../runtime/types.js';

/** A process as it travels over JSON (dates are ISO strings). */
export type ProcessInfo = Omit<ProcessStatus, 'startedAt' | 'lastExit' | 'nextRestartAt'> & {
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  nextRestartAt?: string;
};
export type AppDetails = Omit<AppInfo, 'processes'> & { processes: ProcessInfo[] };
export type { AppSummary, BuildInfo, ReleaseInfo, User };

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export interface ApiClientOptions {
  /** Server base URL, e.g. `https://gantry.example.com`. */
  url: string;
  token?: string;
}

type Body = Record<string, unknown> | Blob | undefined;

export class ApiClient {
  readonly url: string;
  readonly #token: string | undefined;

  constructor(opts: ApiClientOptions) {
    this.url = normalizeUrl(opts.url);
    this.#token = opts.token;
  }

  /** Sends a request; resolves with the response only if it is 2xx. */
  async request(
    method: string,
    path: string,
    opts: { body?: Body; contentType?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, text/plain' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let body: BodyInit | undefined;
    if (opts.body instanceof Blob) {
      body = opts.body;
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(this.url + path, { method, headers, body, signal: opts.signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(
        0,
        'GANTRY_UNREACHABLE',
        `cannot reach ${this.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      );
    }
    if (!res.ok) throw await toApiError(res);
    return res;
  }

  async #json<T>(method: string, path: string, body?: Body): Promise<T> {
    const res = await this.request(method, path, { body });
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  health = () => this.#json<{ status: string; version: string }>('GET', '/api/health');
  login = (body: { username: string; password: string; tokenName?: string }) =>
    this.#json<{ token: string; username: string }>('POST', '/api/login', body);
  whoami = () => this.#json<User>('GET', '/api/whoami');

  listApps = async () => (await this.#json<{ apps: AppSummary[] }>('GET', '/api/apps')).apps;
  createApp = (name: string) => this.#json<AppDetails>('POST', '/api/apps', { name });
  getApp = (app: string) => this.#json<AppDetails>('GET', `/api/apps/${seg(app)}`);
  destroyApp = (app: string) => this.#json<void>('DELETE', `/api/apps/${seg(app)}`);

  getConfig = async (app: string) =>
    (await this.#json<{ vars: Record<string, string> }>('GET', `/api/apps/${seg(app)}/config`)).vars;
  updateConfig = async (app: string, change: { set?: Record<string, string>; unset?: string[] }) =>
    (await this.#json<{ release: ReleaseInfo | null }>('PATCH', `/api/apps/${seg(app)}/config`, change))
      .release;

  listProcesses = async (app: string) =>
    (await this.#json<{ processes: ProcessInfo[] }>('GET', `/api/apps/${seg(app)}/ps`)).processes;
  scale = async (app: string, formation: Record<string, number>) =>
    (
      await this.#json<{ formation: Record<string, number> }>(
        'PATCH',
        `/api/apps/${seg(app)}/formation`,
        formation,
      )
    ).formation;
  restart = (app: string, type?: string) =>
    this.#json<{ restarted: string }>('POST', `/api/apps/${seg(app)}/restart`, type ? { type } : {});

  listReleases = async (app: string) =>
    (await this.#json<{ releases: ReleaseInfo[] }>('GET', `/api/apps/${seg(app)}/releases`)).releases;
  rollback = async (app: string, version?: number) =>
    (
      await this.#json<{ release: ReleaseInfo }>(
        'POST',
        `/api/apps/${seg(app)}/rollback`,
        version === undefined ? {} : { version },
      )
    ).release;

  listBuilds = async (app: string) =>
    (await this.#json<{ builds: BuildInfo[] }>('GET', `/api/apps/${seg(app)}/builds`)).builds;
  buildLog = async (app: string, id: string) =>
    (await this.request('GET', `/api/apps/${seg(app)}/builds/${seg(id)}/log`)).text();

  /** Log text; with `follow`, chunks keep coming until the server ends or `signal` aborts. */
  async *logs(
    app: string,
    opts: { lines: number; follow: boolean; signal?: AbortSignal },
  ): AsyncGenerator<string> {
    const q = `lines=${opts.lines}${opts.follow ? '&follow=1' : ''}`;
    const res = await this.request('GET', `/api/apps/${seg(app)}/logs?${q}`, { signal: opts.signal });
    yield* textChunks(res);
  }

  /** Uploads a .tar.gz and yields the deploy output as it streams. */
  async *deploy(app: string, tarball: Blob): AsyncGenerator<string> {
    const res = await this.request('POST', `/api/apps/${seg(app)}/deploy`, {
      body: tarball,
      contentType: 'application/gzip',
    });
    yield* textChunks(res);
  }
}

export function normalizeUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ApiError(0, 'GANTRY_BAD_REQUEST', `not a URL: ${url} (use e.g. https://gantry.example.com)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ApiError(0, 'GANTRY_BAD_REQUEST', `not an http(s) URL: ${url}`);
  }
  return u.toString().replace(/\/+$/, '');
}

const seg = (s: string): string => encodeURIComponent(s);

async function* textChunks(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const dec = new TextDecoder();
  for await (const chunk of res.body) {
    const text = dec.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = dec.decode();
  if (rest) yield rest;
}

async function toApiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (error?.message) return new ApiError(res.status, error.code ?? 'GANTRY_ERROR', error.message);
  } catch {
    // Not our JSON (a proxy's error page): fall through to the status line.
  }
  return new ApiError(
    res.status,
    'GANTRY_HTTP_ERROR',
    `${res.status} ${res.statusText || 'error'} from ${res.url}`,
  );
}
