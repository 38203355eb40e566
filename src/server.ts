/**
 * Composition root: builds every module from the config and wires them on
 * one HTTP port — /apps/* to the router (data plane), /git/* to git, the rest
 * to the API (control plane).
 */
import { createServer, type Server } from 'node:http';
import { mkdir, chmod, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig, defaultPublicUrl, type GantryConfig } from './config/index.js';
import { createServer as createNetServer } from 'node:net';
import { createLogger, type Logger } from './log/index.js';
import { openStore } from './store/index.js';
import { Users, ensureKeys } from './auth/index.js';
import { LoginLimiter } from './auth/rate-limit.js';
import { SqlDirectory } from './identity/directory.js';
import { LoginService } from './identity/login.js';
import { allows } from './identity/policy.js';
import type { Identity } from './identity/types.js';
import { sessionCookieName } from './identity/cookies.js';
import { Keyring, reencryptAll, rotateMasterKey } from './secrets/index.js';
import {
  createProviders,
  redirectProviders,
  passwordProviders,
  closeProviders,
  ssoRoutes,
  SsoStatusTracker,
} from './sso/index.js';
import { createGate, IdentitySigner } from './gate/index.js';
import { createSshServer, type SshServer } from './ssh/index.js';
import { LogStore } from './logs/index.js';
import { LocalRuntime, assertSandboxAvailable, dataDirExposure, isRoot } from './runtime/index.js';
import { createRouter } from './router/index.js';
import { createGitService, readRef } from './git/index.js';
import { GantryError } from './errors/index.js';
import { buildSlug } from './build/index.js';
import { validateAppName } from './apps/index.js';
import { AppRecords } from './apps/records.js';
import { Rollout, Deployer, GantryPlatform, ElasticOps, LiveHub } from './deploy/index.js';
import { EventLog, describeRuntimeEvent } from './events/index.js';
import { MetricsRecorder } from './metrics/index.js';
import { CronHistory, CronScheduler, DEFAULT_RUN_TIMEOUT_MS, shellCommand } from './jobs/index.js';
import { Scaler, type ScalingDefaults } from './scaler/index.js';
import type { LimitPolicy } from './apps/index.js';
import { buildApi } from './api/index.js';
import { createThumbnails } from './compose/thumbnails.js';
import { webUi } from './web/index.js';
import { packageVersion } from './version.js';

export interface RunningServer {
  url: string;
  port: number;
  config: GantryConfig;
  logger: Logger;
  /** Set on the very first start when no GANTRY_ADMIN_PASSWORD was given: print it once. */
  generatedAdminPassword?: string;
  /** SSH git push port, when enabled. */
  sshPort?: number;
  close(): Promise<void>;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export async function startServer(
  config: GantryConfig = loadConfig(),
  opts: { logger?: Logger } = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  if (config.port === 0) {
    // Any free port (tests): pick it now so URLs handed to apps and users are real.
    const port = await freePort(config.host);
    const derived = config.publicUrl === defaultPublicUrl(config.host, 0);
    config = { ...config, port, publicUrl: derived ? defaultPublicUrl(config.host, port) : config.publicUrl };
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await chmod(config.dataDir, 0o700);
  const exposed = dataDirExposure(await realpath(config.dataDir), { root: isRoot() });
  if (exposed && !config.unsafeNoSandbox) throw new GantryError('GANTRY_INVALID_CONFIG', exposed);
  await ensureKeys(config.dataDir);
  await assertSandboxAvailable({ unsafeNoSandbox: config.unsafeNoSandbox, logger });
  const keyring = await Keyring.open({
    dataDir: config.dataDir,
    masterKey: config.masterKey,
    previousKeys: config.previousMasterKeys,
  });
  // Validated before anything listens: a bad provider setting stops the start with its message.
  const providers = await createProviders(config.authProviders, { publicUrl: config.publicUrl, logger });
  // Each provider's sign-ins and checks, for the admin console.
  const ssoStatus = new SsoStatusTracker({ providers, logger });

  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  const reencrypted = await reencryptAll(store.db, keyring);
  if (reencrypted > 0)
    logger.info(
      { reencrypted, keyId: keyring.currentKeyId },
      'config vars re-encrypted under the current master key',
    );
  const boot = await new Users(store.db).bootstrapAdmin(config.adminPassword);
  const directory = new SqlDirectory({ db: store.db, logger });
  await directory.load();
  // One limiter for every password check (browser and API login, git basic auth).
  const loginLimiter = new LoginLimiter();
  const login = new LoginService({
    directory,
    limiter: loginLimiter,
    providers: passwordProviders(providers),
    logger,
    observer: ssoStatus,
  });
  const signer = await IdentitySigner.load({
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    ttlMs: config.identityTokenTtlMs,
  });
  const cookieName = sessionCookieName(config.publicUrl);
  const gate = createGate({ directory, cookieName, signer });
  const stopWatching = directory.onChange(() => gate.invalidate());
  const records = new AppRecords(store.db, { uidBase: config.appUidBase, secrets: keyring });
  const logs = new LogStore({ dir: join(config.dataDir, 'logs'), logger });
  const events = new EventLog({ db: store.db, logger });
  const runtime = new LocalRuntime({
    logger,
    logSink: logs.append,
    stopGraceMs: config.stopGraceMs,
    unsafeNoSandbox: config.unsafeNoSandbox,
  });
  const stopRuntimeEvents = runtime.onEvent((e) => {
    const d = describeRuntimeEvent(e);
    if (d) events.record(e.app, { ...d, at: e.time });
  });
  const scalingDefaults: ScalingDefaults = {
    min: config.defaultMinReplicas,
    concurrency: config.defaultConcurrency,
    idleTimeoutMs: config.defaultIdleTimeoutMs,
    maxReplicas: config.maxReplicas,
  };
  const limitPolicy: LimitPolicy = { defaults: config.defaultLimits, maxima: config.maxLimits };
  // `scaler` and `elastic` are built below: the closures that use them run only once
  // requests come in (after listen()).
  const router = createRouter({
    logger,
    gate,
    wakeTimeoutMs: config.wakeTimeoutMs,
    wakeQueueLimit: config.wakeQueueLimit,
    onWake: (app) => {
      scaler.wake(app).catch((err: unknown) => {
        const message = err instanceof GantryError ? err.message : `${app} failed to start`;
        if (!(err instanceof GantryError)) logger.error({ err, app }, 'waking app failed');
        router.failWake(app, message);
      });
    },
  });
  const rollout: Rollout = new Rollout({
    runtime,
    router,
    logger,
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    healthcheckTimeoutMs: config.healthcheckTimeoutMs,
    drainTimeoutMs: config.drainTimeoutMs,
    stopGraceMs: config.stopGraceMs,
    recentLogs: async (app, process, since) =>
      (await logs.tail(app, 500))
        .filter((l) => l.process === process && l.time >= since)
        .slice(-15)
        .map((l) => l.text),
    limits: limitPolicy,
    webCount: (app, formationWeb) => elastic.webCountFor(app, formationWeb),
    affinity: (app) => elastic.settings(app).affinity,
    onLive: (_active, app) => {
      elastic.live(app);
      scaler.touch(app.name);
    },
  });
  const scaler = new Scaler({
    target: rollout,
    logger,
    windowMs: config.autoscaleWindowMs,
    traffic: (app) => router.traffic(app),
    record: (app, kind, message) => events.record(app, { kind, message }),
  });
  const cron: CronScheduler = new CronScheduler({
    history: new CronHistory(store.db),
    logger,
    onEvent: (app, message) => events.record(app, { kind: 'cron', message }),
    // The scheduler's own timeout fires first and is recorded as "timed out".
    runner: ({ app, command, name, onOutput, signal }) =>
      elastic.runOnce(app, command, {
        kind: 'cron',
        label: name.slice(app.length + 1),
        onOutput,
        signal,
        timeoutMs: DEFAULT_RUN_TIMEOUT_MS + 60_000,
      }),
  });
  await cron.start();
  const metrics = new MetricsRecorder({
    intervalMs: config.metricsIntervalMs,
    logger,
    sources: {
      apps: () => {
        const names = new Set(runtime.list().map((p) => p.app));
        for (const [app] of router.allTraffic()) if (router.getRoute(app)) names.add(app);
        return names;
      },
      traffic: (app) => router.traffic(app),
      processes: (app) => runtime.list(app),
      state: (app) => scaler.state(app).state,
    },
  });
  // Running builds' output and app activity, for the web UI's live views.
  const live = new LiveHub({ logger });
  const deployer = new Deployer({
    records,
    rollout,
    live,
    logger,
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    keepReleases: config.keepReleases,
    buildTimeoutMs: config.buildTimeoutMs,
    appLog: (app, text) => logs.system(app, text),
    recoverAsleep: (app) => elastic.settings(app).min === 0,
    build: (b) =>
      buildSlug({
        ...b,
        logger,
        settings: {
          pythonSystemPackages: config.pythonSystemPackages,
          pipIndexUrl: config.pipIndexUrl,
          pipWheelhouse: config.pipWheelhouse,
          npmRegistry: config.npmRegistry,
          unsafeNoSandbox: config.unsafeNoSandbox,
        },
      }),
  });
  const git = createGitService({
    dataDir: config.dataDir,
    maxPushBytes: config.maxPushBytes,
    logger,
    // Basic auth carries an API token (the CLI's credential helper) or a password (rate-limited by LoginService).
    authenticate: async (username, password, ip): Promise<Identity | undefined> => {
      if (password.startsWith('gty_')) return directory.resolveToken(password);
      const r = await login.passwordLogin(username, password, { ip });
      if ('refused' in r)
        throw new GantryError('GANTRY_TOO_MANY_REQUESTS', 'too many failed logins; try again later');
      return 'identity' in r ? r.identity : undefined;
    },
    appExists: async (name) => (await records.find(name)) !== undefined,
    authorize: (identity, app) => {
      const access = directory.appAccess(app);
      return access !== undefined && allows(identity, access, 'manage');
    },
    onPush: async (ctx) => {
      const actor = { username: ctx.identity.username, ip: ctx.ip };
      try {
        await deployPush(ctx);
        await directory.audit(actor, 'app.deploy', `app:${ctx.app}`, {
          via: `git-${ctx.identity.via === 'ssh' ? 'ssh' : 'http'}`,
          commit: ctx.update.newSha,
        });
      } catch (e) {
        await directory.audit(actor, 'app.deploy.failed', `app:${ctx.app}`, {
          via: `git-${ctx.identity.via === 'ssh' ? 'ssh' : 'http'}`,
          commit: ctx.update.newSha,
          error: e instanceof Error ? e.message : String(e),
        });
        throw e;
      }
    },
  });
  const deployPush = async (ctx: Parameters<Parameters<typeof createGitService>[0]['onPush']>[0]) => {
    await deployer.deploySource({
      app: ctx.app,
      commit: ctx.update.newSha,
      output: ctx.output,
      signal: ctx.signal,
      holdLockUntil: ctx.finished,
      // Two pushes racing: the second must not go live if git will refuse its ref update.
      verify: async () => {
        if ((await readRef(ctx.repoPath, ctx.update.ref)) !== ctx.update.oldSha) {
          throw new GantryError(
            'GANTRY_DEPLOY_IN_PROGRESS',
            `${ctx.update.ref} moved while this push waited (another push landed first): fetch, then push again`,
          );
        }
      },
      fill: (dir) =>
        git.exportCommit({
          repoPath: ctx.repoPath,
          sha: ctx.update.newSha,
          dest: dir,
          gitEnv: ctx.gitEnv,
          // Same bound as uploads: what a push unpacks to, not just its packed size.
          maxBytes: config.maxPushBytes * 4,
        }),
    });
  };
  await git.start();
  const ssh: SshServer | undefined =
    config.sshPort === null
      ? undefined
      : await createSshServer({
          host: config.host,
          port: config.sshPort,
          hostKeyPath: join(config.dataDir, 'keys', 'ssh_host_ed25519_key'),
          lookupKey: (fp) => {
            const found = directory.userForKey(fp);
            if (found) directory.keyUsed(fp);
            return found;
          },
          identityOf: (u) => directory.identityOf(u, 'ssh'),
          git,
          logger,
        });
  const elastic: ElasticOps = new ElasticOps({
    records,
    deployer,
    rollout,
    runtime,
    scaler,
    cron,
    events,
    metrics,
    scalingDefaults,
    limitPolicy,
    shellCommand,
    logger,
  });
  // Declared before the platform: the capture queue stores through it (only after startup).
  const thumbnails = createThumbnails({
    config,
    logger,
    directory,
    cookieName,
    store: (app, image, type) => platform.storeCapturedThumbnail(app, image, type),
  });
  const platform: GantryPlatform = new GantryPlatform({
    elastic,
    records,
    deployer,
    rollout,
    runtime,
    logs,
    publicUrl: config.publicUrl,
    maxPushBytes: config.maxPushBytes,
    validateAppName,
    repos: git,
    live,
    events,
    logger,
    thumbnails,
  });

  let server!: Server;
  const api = await buildApi({
    platform,
    directory,
    login,
    logger,
    version: packageVersion(),
    publicUrl: config.publicUrl,
    cookieName,
    secureCookies: config.publicUrl.startsWith('https:'),
    sessionTtlMs: config.sessionTtlMs,
    providers: providers.map((p) => ({ name: p.name, type: p.type, label: p.label })),
    jwks: () => signer.jwks(),
    rotateMasterKey: () => rotateMasterKey({ db: store.db, keyring }),
    extraRoutes: async (app) => {
      await app.register(ssoRoutes, {
        providers: redirectProviders(providers),
        publicUrl: config.publicUrl,
        logger,
        onLogin: app.completeSsoLogin,
        onFailure: ({ provider, reason, request }) =>
          directory.audit({ username: null, ip: request.ip }, 'login.failed', null, { provider, reason }),
        observer: ssoStatus,
      });
    },
    sso: ssoStatus,
    serverFactory: (handler) => {
      server = createServer((req, res) => {
        if (router.handle(req, res)) return;
        if (git.handle(req, res)) return;
        handler(req, res);
      });
      server.on('upgrade', (req, socket, head) => {
        if (!router.handleUpgrade(req, socket, head)) socket.destroy();
      });
      // Builds stream for minutes over one request (git push, deploy upload).
      server.requestTimeout = 0;
      server.keepAliveTimeout = 65_000;
      return server;
    },
  });
  // The web UI at / (App Portal, App Manager, Admin console), from web/dist.
  await api.register(webUi, { logger });
  await api.listen({ port: config.port, host: config.host });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, dataDir: config.dataDir, database: store.kind }, 'gantry is listening');

  // Bring deployed apps back after a restart, without delaying readiness of the API.
  const recovering = deployer
    .recover()
    .then(async () => {
      // Apps that are not deployed get their settings too (the first deploy then sees them).
      for (const app of await records.list()) if (!rollout.active(app.name)) elastic.sync(app);
    })
    .catch((e: unknown) => logger.error({ err: e }, 'recovering apps failed'))
    .finally(() => {
      scaler.start();
      metrics.start();
    });

  let closed = false;
  return {
    url,
    port,
    config,
    logger,
    generatedAdminPassword: boot?.generatedPassword,
    sshPort: ssh?.port,
    async close() {
      if (closed) return;
      closed = true;
      await recovering;
      await metrics.close();
      await scaler.close();
      await cron.close();
      await deployer.close();
      await thumbnails?.close();
      // Fastify closes idle connections; don't wait minutes for clients that hold one open.
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await api.close();
      clearTimeout(force);
      await router.close();
      await rollout.close();
      await runtime.close();
      stopRuntimeEvents();
      await events.close();
      await ssh?.close();
      await git.close();
      await closeProviders(providers);
      stopWatching();
      await directory.close();
      await logs.flush();
      await store.close();
    },
  };
}
