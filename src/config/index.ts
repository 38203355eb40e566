/**
 * Settings from the environment and an optional JSON config file, validated
 * once. Environment wins over the file; the file wins over defaults.
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import type { ResourceLimits } from '../runtime/types.js';
import { GantryError } from '../errors/index.js';

export interface GantryConfig {
  /** Where everything lives: database, keys, repos, slugs, logs. */
  dataDir: string;
  host: string;
  port: number;
  /** Public base URL used in messages (git remote); defaults to http://host:port. */
  publicUrl: string;
  /** Postgres URL; unset → embedded SQLite in dataDir. */
  databaseUrl?: string;
  /** Only used on the very first start. */
  adminPassword?: string;
  pythonSystemPackages: boolean;
  unsafeNoSandbox: boolean;
  maxPushBytes: number;
  pipIndexUrl?: string;
  pipWheelhouse?: string;
  npmRegistry?: string;
  /** How long a new release has to pass its health check. */
  healthcheckTimeoutMs: number;
  /** Longest a build may run before it is stopped. */
  buildTimeoutMs: number;
  /** SIGTERM → SIGKILL grace period for app processes. */
  stopGraceMs: number;
  /** How long old releases are drained before being stopped. */
  drainTimeoutMs: number;
  /** First uid handed to apps (one uid per app). */
  appUidBase: number;
  logLevel: string;
  /** Number of old slugs kept per app for rollback. */
  keepReleases: number;
  /** SSH git push port on `host`; 0 picks a free port; null (`off`) disables SSH. */
  sshPort: number | null;
  /** Master key for config vars at rest (base64 of 32 bytes); unset → generated in DATA/keys. */
  masterKey?: string;
  /** Previous master keys still accepted for decryption during a rotation (comma-separated in the env). */
  previousMasterKeys: string[];
  /** Browser session lifetime. */
  sessionTtlMs: number;
  /** Role given to users created by their first SSO login (providers may override). */
  defaultRole: 'admin' | 'developer' | 'viewer';
  /** SSO providers (OIDC, LDAP, SAML), each validated by its own module; JSON array from `authProviders` or GANTRY_AUTH_PROVIDERS. */
  authProviders: unknown[];
  /** Lifetime of the signed Gantry-Identity JWT handed to apps. */
  identityTokenTtlMs: number;
  /** New apps' minimum web processes; 0 = scale to zero when idle (GANTRY_DEFAULT_MIN_REPLICAS). */
  defaultMinReplicas: number;
  /** New apps' idle timeout before sleeping (GANTRY_IDLE_TIMEOUT). */
  defaultIdleTimeoutMs: number;
  /** New apps' autoscaling target: in-flight requests per web process (GANTRY_TARGET_CONCURRENCY). */
  defaultConcurrency: number;
  /** Largest min/max replicas an app may set (GANTRY_MAX_REPLICAS). */
  maxReplicas: number;
  /** Autoscaling: removes replicas only after load stayed lower this long (GANTRY_AUTOSCALE_WINDOW). */
  autoscaleWindowMs: number;
  /** Waking apps: longest a held request waits (then 503 + Retry-After) (GANTRY_WAKE_TIMEOUT). */
  wakeTimeoutMs: number;
  /** Waking apps: most requests held per app (then 503) (GANTRY_WAKE_QUEUE). */
  wakeQueueLimit: number;
  /** Default resource limits per process (GANTRY_DEFAULT_MEMORY, GANTRY_DEFAULT_CPU, GANTRY_DEFAULT_PIDS). */
  defaultLimits: ResourceLimits;
  /** Largest limits an app may set (GANTRY_MAX_MEMORY, GANTRY_MAX_CPU, GANTRY_MAX_PIDS). */
  maxLimits: ResourceLimits;
  /** Metrics sampling interval (GANTRY_METRICS_INTERVAL). */
  metricsIntervalMs: number;
  /** Capture portal thumbnails in headless Chromium after each deploy (GANTRY_THUMBNAILS, default on when a browser is found). */
  thumbnails: boolean;
  /** The Chromium executable for thumbnails (GANTRY_CHROMIUM); undefined: look in the usual places. */
  chromiumPath: string | undefined;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function parseBytes(v: string): number {
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(v.trim());
  if (!m) throw new GantryError('GANTRY_INVALID_CONFIG', `not a size: "${v}" (use e.g. 512M)`);
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}

export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new GantryError('GANTRY_INVALID_CONFIG', `not a duration: "${v}" (use e.g. 30s, 5m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

function parseBool(name: string, v: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off|)$/i.test(v)) return false;
  throw new GantryError('GANTRY_INVALID_CONFIG', `${name} must be 1 or 0, got "${v}"`);
}

function parsePort(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new GantryError('GANTRY_INVALID_CONFIG', `${name} must be a port number`);
  return n;
}

type Raw = Record<string, unknown>;

function parseOptionalPort(name: string, v: string): number | null {
  return /^(off|none|false)$/i.test(v) ? null : parsePort(name, v);
}

function parseCount(name: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new GantryError('GANTRY_INVALID_CONFIG', `${name} must be a whole number ≥ ${min}, got "${v}"`);
  return n;
}

/** Memory like `512M`, CPU in cores like `0.5`, pids a count; `none` or unset = unlimited. */
export function parseLimits(memory?: string, cpu?: string, pids?: string): ResourceLimits {
  const out: ResourceLimits = {};
  const off = (v: string | undefined): v is undefined => v === undefined || /^(none|off|unlimited)$/i.test(v);
  if (!off(memory)) out.memoryBytes = parseBytes(memory);
  if (!off(cpu)) {
    const n = Number(cpu);
    if (!(n > 0))
      throw new GantryError('GANTRY_INVALID_CONFIG', `not a CPU amount: "${cpu}" (use e.g. 0.5 or 2)`);
    out.cpu = n;
  }
  if (!off(pids)) out.pids = parseCount('pids limit', pids, 1);
  return out;
}

function parseRole(v: string): GantryConfig['defaultRole'] {
  if (v === 'admin' || v === 'developer' || v === 'viewer') return v;
  throw new GantryError(
    'GANTRY_INVALID_CONFIG',
    `defaultRole must be admin, developer or viewer, got "${v}"`,
  );
}

function parseProviders(v: unknown): unknown[] {
  if (v === undefined || v === '') return [];
  let list = v;
  if (typeof v === 'string') {
    try {
      list = JSON.parse(v);
    } catch (e) {
      throw new GantryError(
        'GANTRY_INVALID_CONFIG',
        `GANTRY_AUTH_PROVIDERS is not valid JSON: ${(e as Error).message}`,
      );
    }
  }
  if (!Array.isArray(list))
    throw new GantryError('GANTRY_INVALID_CONFIG', 'authProviders must be a JSON array of provider settings');
  return list as unknown[];
}

/**
 * Loads settings. `env` defaults to process.env; `overrides` (tests, CLI flags) win over everything.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<GantryConfig> = {},
): GantryConfig {
  const dataDir = resolve(overrides.dataDir ?? env.GANTRY_DATA_DIR ?? '.gantry');
  const file = env.GANTRY_CONFIG ?? join(dataDir, 'gantry.json');
  let fromFile: Raw = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Raw;
    } catch (e) {
      throw new GantryError(
        'GANTRY_INVALID_CONFIG',
        `cannot read config file ${file}: ${(e as Error).message}`,
      );
    }
  } else if (env.GANTRY_CONFIG) {
    throw new GantryError('GANTRY_INVALID_CONFIG', `config file ${file} does not exist`);
  }
  const pick = (envName: string, key: string): string | undefined => {
    const v = env[envName] ?? fromFile[key];
    return v === undefined || v === '' ? undefined : String(v as string);
  };
  const host = pick('GANTRY_HOST', 'host') ?? '127.0.0.1';
  const port = parsePort('GANTRY_PORT', pick('GANTRY_PORT', 'port') ?? '8080');
  const cfg: GantryConfig = {
    dataDir,
    host,
    port,
    publicUrl: (pick('GANTRY_PUBLIC_URL', 'publicUrl') ?? defaultPublicUrl(host, port)).replace(/\/+$/, ''),
    databaseUrl: pick('GANTRY_DATABASE_URL', 'databaseUrl'),
    adminPassword: pick('GANTRY_ADMIN_PASSWORD', 'adminPassword'),
    pythonSystemPackages: parseBool(
      'GANTRY_PYTHON_SYSTEM_PACKAGES',
      pick('GANTRY_PYTHON_SYSTEM_PACKAGES', 'pythonSystemPackages') ?? '0',
    ),
    unsafeNoSandbox: parseBool(
      'GANTRY_UNSAFE_NO_SANDBOX',
      pick('GANTRY_UNSAFE_NO_SANDBOX', 'unsafeNoSandbox') ?? '0',
    ),
    maxPushBytes: parseBytes(pick('GANTRY_MAX_PUSH_SIZE', 'maxPushSize') ?? '512M'),
    pipIndexUrl: pick('GANTRY_PIP_INDEX_URL', 'pipIndexUrl') ?? env.PIP_INDEX_URL,
    pipWheelhouse: pick('GANTRY_PIP_WHEELHOUSE', 'pipWheelhouse'),
    npmRegistry: pick('GANTRY_NPM_REGISTRY', 'npmRegistry'),
    healthcheckTimeoutMs: parseDuration(pick('GANTRY_HEALTHCHECK_TIMEOUT', 'healthcheckTimeout') ?? '60s'),
    buildTimeoutMs: parseDuration(pick('GANTRY_BUILD_TIMEOUT', 'buildTimeout') ?? '30m'),
    stopGraceMs: parseDuration(pick('GANTRY_STOP_GRACE', 'stopGrace') ?? '30s'),
    drainTimeoutMs: parseDuration(pick('GANTRY_DRAIN_TIMEOUT', 'drainTimeout') ?? '30s'),
    appUidBase: Number(pick('GANTRY_APP_UID_BASE', 'appUidBase') ?? '200000'),
    logLevel: pick('GANTRY_LOG_LEVEL', 'logLevel') ?? 'info',
    keepReleases: Number(pick('GANTRY_KEEP_RELEASES', 'keepReleases') ?? '5'),
    sshPort: parseOptionalPort('GANTRY_SSH_PORT', pick('GANTRY_SSH_PORT', 'sshPort') ?? '2222'),
    masterKey: pick('GANTRY_MASTER_KEY', 'masterKey'),
    previousMasterKeys: (pick('GANTRY_PREVIOUS_MASTER_KEYS', 'previousMasterKeys') ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
    sessionTtlMs: parseDuration(pick('GANTRY_SESSION_TTL', 'sessionTtl') ?? '12h'),
    defaultRole: parseRole(pick('GANTRY_DEFAULT_ROLE', 'defaultRole') ?? 'viewer'),
    authProviders: parseProviders(env.GANTRY_AUTH_PROVIDERS ?? fromFile.authProviders),
    identityTokenTtlMs: parseDuration(pick('GANTRY_IDENTITY_TOKEN_TTL', 'identityTokenTtl') ?? '5m'),
    defaultMinReplicas: parseCount(
      'GANTRY_DEFAULT_MIN_REPLICAS',
      pick('GANTRY_DEFAULT_MIN_REPLICAS', 'defaultMinReplicas') ?? '0',
    ),
    defaultIdleTimeoutMs: parseDuration(pick('GANTRY_IDLE_TIMEOUT', 'idleTimeout') ?? '15m'),
    defaultConcurrency: parseCount(
      'GANTRY_TARGET_CONCURRENCY',
      pick('GANTRY_TARGET_CONCURRENCY', 'targetConcurrency') ?? '10',
      1,
    ),
    maxReplicas: parseCount('GANTRY_MAX_REPLICAS', pick('GANTRY_MAX_REPLICAS', 'maxReplicas') ?? '10', 1),
    autoscaleWindowMs: parseDuration(pick('GANTRY_AUTOSCALE_WINDOW', 'autoscaleWindow') ?? '60s'),
    wakeTimeoutMs: parseDuration(pick('GANTRY_WAKE_TIMEOUT', 'wakeTimeout') ?? '60s'),
    wakeQueueLimit: parseCount('GANTRY_WAKE_QUEUE', pick('GANTRY_WAKE_QUEUE', 'wakeQueue') ?? '1000', 1),
    defaultLimits: parseLimits(
      pick('GANTRY_DEFAULT_MEMORY', 'defaultMemory') ?? '1G',
      pick('GANTRY_DEFAULT_CPU', 'defaultCpu'),
      pick('GANTRY_DEFAULT_PIDS', 'defaultPids') ?? '1024',
    ),
    maxLimits: parseLimits(
      pick('GANTRY_MAX_MEMORY', 'maxMemory') ?? '8G',
      pick('GANTRY_MAX_CPU', 'maxCpu'),
      pick('GANTRY_MAX_PIDS', 'maxPids') ?? '4096',
    ),
    metricsIntervalMs: parseDuration(pick('GANTRY_METRICS_INTERVAL', 'metricsInterval') ?? '10s'),
    thumbnails: parseBool('GANTRY_THUMBNAILS', pick('GANTRY_THUMBNAILS', 'thumbnails') ?? 'true'),
    chromiumPath: pick('GANTRY_CHROMIUM', 'chromium') || undefined,
  };
  const merged = { ...cfg, ...overrides };
  // A derived public URL follows the host/port overrides; an explicit one is kept.
  if (!overrides.publicUrl && !pick('GANTRY_PUBLIC_URL', 'publicUrl'))
    merged.publicUrl = defaultPublicUrl(merged.host, merged.port);
  return merged;
}

export function defaultPublicUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
