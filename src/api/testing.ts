/**
 * Test support for the API (and the CLI tests that run it): a real identity
 * directory over a throwaway SQLite store, with an `admin` whose password is
 * FAKE_PASSWORD, and the route table of a built app.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { buildApi } from './index.js';
import { FakePlatform } from './fake-platform.js';
import { openStore, type Store } from '../store/index.js';
import { AppRecords } from '../apps/records.js';
import { testKeyring } from '../secrets/testing.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { SqlDirectory } from '../identity/directory.js';
import { LoginService } from '../identity/login.js';
import { sessionCookieName } from '../identity/cookies.js';
import { parseScope, type Role } from '../identity/types.js';
import { FAKE_PASSWORD } from './fake-platform.js';

export interface TestIdentity {
  store: Store;
  records: AppRecords;
  directory: SqlDirectory;
  login: LoginService;
  limiter: LoginLimiter;
  /** buildApi's identity options for `publicUrl`. */
  options: {
    directory: SqlDirectory;
    login: LoginService;
    cookieName: string;
    secureCookies: boolean;
    sessionTtlMs: number;
  };
  /** Creates a local user (password FAKE_PASSWORD unless given). */
  user(username: string, role: Role, password?: string): Promise<void>;
  /** A new API token of `username` (scope `full`, `read` or `app:NAME`). */
  token(username: string, scope?: string): Promise<string>;
  close(): Promise<void>;
}

const SYSTEM = { username: null, ip: null };

export async function testIdentity(
  opts: { publicUrl?: string; limiter?: LoginLimiter; sessionTtlMs?: number } = {},
): Promise<TestIdentity> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-api-identity-'));
  const store = await openStore({ dataDir: dir });
  const records = new AppRecords(store.db, { uidBase: 200000, secrets: testKeyring() });
  const directory = new SqlDirectory({ db: store.db, logger: silentLogger });
  await directory.load();
  const limiter = opts.limiter ?? new LoginLimiter();
  const login = new LoginService({ directory, limiter, providers: [], logger: silentLogger });
  const publicUrl = opts.publicUrl ?? 'http://gantry.test';
  const t: TestIdentity = {
    store,
    records,
    directory,
    login,
    limiter,
    options: {
      directory,
      login,
      cookieName: sessionCookieName(publicUrl),
      secureCookies: publicUrl.startsWith('https:'),
      sessionTtlMs: opts.sessionTtlMs ?? 3600_000,
    },
    async user(username, role, password = FAKE_PASSWORD) {
      await directory.createUser(SYSTEM, { username, role, password });
    },
    async token(username, scope = 'full') {
      const parsed = parseScope(scope);
      if (!parsed) throw new Error(`bad scope ${scope}`);
      return (await directory.createToken(SYSTEM, username, { name: 'test', scope: parsed, expiresAt: null }))
        .token;
    },
    async close() {
      await directory.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await t.user('admin', 'admin');
  return t;
}

/** Every route as `METHOD /path`, parsed from Fastify's own route tree (so nothing can hide). */
export function routesOf(app: FastifyInstance): string[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const at = line.search(/[├└]── /);
    if (at < 0) continue;
    const depth = at / 4;
    const m = /^(\S+)(?: \(([^)]*)\))?$/.exec(line.slice(at + 4).trim());
    if (!m) throw new Error(`cannot parse route tree line: ${line}`);
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[1];
    stack.push(path);
    for (const method of m[2]?.split(', ') ?? []) out.push(`${method} ${path}`);
  }
  return out;
}

export interface TestApi {
  app: FastifyInstance;
  platform: FakePlatform;
  identity: TestIdentity;
  /** `Authorization` header of a full-scope admin token. */
  auth: Record<string, string>;
  /** Creates an app owned by admin (as POST /api/apps would). */
  createApp(name: string): Promise<void>;
  close(): Promise<void>;
}

/** buildApi over a FakePlatform (or a subclass from `make`) and a test identity directory. */
export async function testApi(
  make: (records: AppRecords) => FakePlatform = (records) => new FakePlatform({ records }),
): Promise<TestApi> {
  const identity = await testIdentity();
  const platform = make(identity.records);
  const app = await buildApi({
    platform,
    ...identity.options,
    logger: silentLogger,
    version: '1',
    publicUrl: 'http://gantry.test',
  });
  const auth = { authorization: `Bearer ${await identity.token('admin')}` };
  const adminId = identity.directory.getUser('admin')!.id;
  return {
    app,
    platform,
    identity,
    auth,
    async createApp(name) {
      await platform.createApp(name, adminId);
      identity.directory.appCreated(name, 'admin');
    },
    async close() {
      app.server.closeAllConnections();
      await app.close();
      await identity.close();
    },
  };
}
