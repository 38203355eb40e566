/**
 * Typed client of the Gantry HTTP API (the CLI's only way to the server).
 * Uses the global fetch; errors come back as ApiError with the server's
 * stable code and one-line message.
 */
import type {
  AppEvent,
  AppInfo,
  AppSummary,
  BuildInfo,
  CronJobInfo,
  CronRunInfo,
  LimitsInfo,
  MetricSeries,
  ReleaseInfo,
  ScalingInfo,
  User,
} from '../api/index.js';
import type { ProcessStatus, ResourceLimits } from '../runtime/types.js';
import type { ScalingSettings } from '../scaler/types.js';
import { ndjsonMessages, type StreamMessage } from './ndjson.js';
import type {
  AuditEvent,
  GroupInfo,
  Role,
  SshKeyInfo,
  TokenInfo,
  UserInfo,
  Visibility,
} from '../identity/types.js';

/** A process as it travels over JSON (dates are ISO strings). */
export type ProcessInfo = Omit<ProcessStatus, 'startedAt' | 'lastExit' | 'nextRestartAt' | 'usage'> & {
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  nextRestartAt?: string;
  usage?: { cpuPercent: number; memoryBytes: number; at: string };
};
export type AppDetails = Omit<AppInfo, 'processes'> & { processes: ProcessInfo[] };
export type { AppSummary, BuildInfo, ReleaseInfo, User };
export type { AuditEvent, GroupInfo, SshKeyInfo, TokenInfo };
export type { AppEvent, CronJobInfo, CronRunInfo, LimitsInfo, MetricSeries, ScalingInfo, StreamMessage };

/** PATCH /api/apps/APP/scaling: only the settings to change; null resets one to the server default. */
export type ScalingChange = { [K in keyof ScalingSettings]?: ScalingSettings[K] | null };

/** A user as GET /api/users lists them. */
export type UserEntry = Omit<UserInfo, 'id'> & { id?: string };

/** GET /api/whoami; the identity fields are optional so older servers still work. */
export type WhoAmI = User & {
  groups?: string[];
  token?: { id: string; name?: string; scope: string; expiresAt: string | null };
  via?: string;
};

/** An app as listed, with the caller's right on it (servers with access control). */
export type AppListEntry = AppSummary & {
  owner?: string | null;
  visibility?: Visibility;
  access?: 'view' | 'manage' | 'own';
};

export interface Collaborators {
  owner: string | null;
  collaborators: string[];
}

export interface AccessSettings extends Collaborators {
  visibility: Visibility;
  viewers: string[];
}

export interface AuditFilter {
  limit?: number;
  action?: string;
  actor?: string;
  target?: string;
  before?: string;
}

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
  whoami = () => this.#json<WhoAmI>('GET', '/api/whoami');

  listApps = async () => (await this.#json<{ apps: AppListEntry[] }>('GET', '/api/apps')).apps;
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

  getScaling = (app: string) => this.#json<ScalingInfo>('GET', `/api/apps/${seg(app)}/scaling`);
  setScaling = (app: string, change: ScalingChange) =>
    this.#json<ScalingInfo>('PATCH', `/api/apps/${seg(app)}/scaling`, change);
  sleep = (app: string) => this.#json<void>('POST', `/api/apps/${seg(app)}/sleep`);
  wake = (app: string) => this.#json<ScalingInfo>('POST', `/api/apps/${seg(app)}/wake`);

  getLimits = (app: string) => this.#json<LimitsInfo>('GET', `/api/apps/${seg(app)}/limits`);
  setLimits = (app: string, type: string, limits: ResourceLimits) =>
    this.#json<LimitsInfo>('PUT', `/api/apps/${seg(app)}/limits/${seg(type)}`, { ...limits });
  unsetLimits = (app: string, type: string) =>
    this.#json<LimitsInfo>('DELETE', `/api/apps/${seg(app)}/limits/${seg(type)}`);

  listEvents = async (app: string, limit: number) =>
    (await this.#json<{ events: AppEvent[] }>('GET', `/api/apps/${seg(app)}/events?limit=${limit}`)).events;
  getMetrics = (app: string, range: '1h' | '24h') =>
    this.#json<MetricSeries>('GET', `/api/apps/${seg(app)}/metrics?range=${range}`);

  listCronJobs = async (app: string) =>
    (await this.#json<{ jobs: CronJobInfo[] }>('GET', `/api/apps/${seg(app)}/cron`)).jobs;
  listCronRuns = async (app: string, opts: { job?: string; limit: number }) => {
    const q = `limit=${opts.limit}${opts.job === undefined ? '' : `&job=${seg(opts.job)}`}`;
    return (await this.#json<{ runs: CronRunInfo[] }>('GET', `/api/apps/${seg(app)}/cron/runs?${q}`)).runs;
  };

  /** Runs a one-off command; yields its output chunks, then its exit status (or an error). */
  async *run(app: string, argv: string[], signal?: AbortSignal): AsyncGenerator<StreamMessage> {
    const res = await this.request('POST', `/api/apps/${seg(app)}/run`, { body: { command: argv }, signal });
    yield* ndjsonMessages(res.body);
  }

  /** Runs a cron job now; yields its output chunks, then the run record (or an error). */
  async *runCronJob(app: string, id: string, signal?: AbortSignal): AsyncGenerator<StreamMessage> {
    const res = await this.request('POST', `/api/apps/${seg(app)}/cron/${seg(id)}/run`, { signal });
    yield* ndjsonMessages(res.body);
  }

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

  // ---- identity and access (admin routes answer 403 to others) ----
  listUsers = async () => (await this.#json<{ users: UserEntry[] }>('GET', '/api/users')).users;
  createUser = async (u: { username: string; role: Role; password?: string; email?: string }) =>
    (await this.#json<{ user: UserEntry }>('POST', '/api/users', u)).user;
  updateUser = async (username: string, change: { role?: Role; email?: string; password?: string }) =>
    (await this.#json<{ user: UserEntry }>('PATCH', `/api/users/${seg(username)}`, change)).user;
  destroyUser = (username: string) => this.#json<void>('DELETE', `/api/users/${seg(username)}`);

  listGroups = async () => (await this.#json<{ groups: GroupInfo[] }>('GET', '/api/groups')).groups;
  createGroup = async (name: string) =>
    (await this.#json<{ group: GroupInfo }>('POST', '/api/groups', { name })).group;
  destroyGroup = (name: string) => this.#json<void>('DELETE', `/api/groups/${seg(name)}`);
  addToGroup = async (group: string, username: string) =>
    (await this.#json<{ group: GroupInfo }>('PUT', `/api/groups/${seg(group)}/members/${seg(username)}`))
      .group;
  removeFromGroup = async (group: string, username: string) =>
    (await this.#json<{ group: GroupInfo }>('DELETE', `/api/groups/${seg(group)}/members/${seg(username)}`))
      .group;

  /** `user` (admins only) acts on another user's tokens. */
  listTokens = async (user?: string) =>
    (await this.#json<{ tokens: TokenInfo[] }>('GET', `/api/tokens${forUser(user)}`)).tokens;
  createToken = (t: { name: string; scope?: string; expiresIn?: number }, user?: string) =>
    this.#json<{ token: string; info: TokenInfo }>('POST', `/api/tokens${forUser(user)}`, t);
  revokeToken = (id: string, user?: string) =>
    this.#json<void>('DELETE', `/api/tokens/${seg(id)}${forUser(user)}`);

  listKeys = async (user?: string) =>
    (await this.#json<{ keys: SshKeyInfo[] }>('GET', `/api/keys${forUser(user)}`)).keys;
  addKey = async (k: { publicKey: string; name?: string }, user?: string) =>
    (await this.#json<{ key: SshKeyInfo }>('POST', `/api/keys${forUser(user)}`, k)).key;
  /** By id or `SHA256:…` fingerprint. */
  removeKey = (idOrFingerprint: string, user?: string) =>
    this.#json<void>('DELETE', `/api/keys/${seg(idOrFingerprint)}${forUser(user)}`);

  getCollaborators = (app: string) => this.#json<Collaborators>('GET', `/api/apps/${seg(app)}/collaborators`);
  addCollaborator = (app: string, principal: string) =>
    this.#json<Collaborators>('POST', `/api/apps/${seg(app)}/collaborators`, { principal });
  removeCollaborator = (app: string, principal: string) =>
    this.#json<Collaborators>('DELETE', `/api/apps/${seg(app)}/collaborators/${seg(principal)}`);

  getAccess = (app: string) => this.#json<AccessSettings>('GET', `/api/apps/${seg(app)}/access`);
  addViewer = (app: string, principal: string) =>
    this.#json<AccessSettings>('POST', `/api/apps/${seg(app)}/access`, { principal });
  removeViewer = (app: string, principal: string) =>
    this.#json<AccessSettings>('DELETE', `/api/apps/${seg(app)}/access/${seg(principal)}`);
  setVisibility = (app: string, visibility: Visibility) =>
    this.#json<AccessSettings>('PUT', `/api/apps/${seg(app)}/access/visibility`, { visibility });

  listAudit = async (filter: AuditFilter) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
    const qs = q.size > 0 ? `?${q.toString()}` : '';
    return (await this.#json<{ events: AuditEvent[] }>('GET', `/api/audit${qs}`)).events;
  };
  rotateMasterKey = () =>
    this.#json<{ keyId: string; reencrypted: number }>('POST', '/api/admin/master-key/rotate', {});

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
const forUser = (user: string | undefined): string => (user ? `?user=${seg(user)}` : '');

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
