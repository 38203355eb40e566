/**
 * Node buildpack: `npm ci` (lockfile) or `npm install` inside the sandbox,
 * node_modules cached by a hash of the lockfile, then `npm run build` if the
 * app has a build script. The cache copy is taken before the build script
 * runs, so tools that write into node_modules (.cache dirs) never touch it.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/index.js';
import { GantryError } from '../errors/index.js';
import { cacheKey, DepCache } from './cache.js';
import type { BuildContext, BuildpackResult } from './types.js';

interface PackageJson {
  main?: unknown;
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
}

const FRAMEWORKS = ['next', 'nuxt', '@remix-run/serve', 'express', 'fastify', 'koa', 'hono'];

function parsePackageJson(text: string): PackageJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new GantryError('GANTRY_BUILD_FAILED', `package.json is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new GantryError('GANTRY_BUILD_FAILED', 'package.json must contain a JSON object');
  return parsed as PackageJson;
}

async function nodeVersion(): Promise<string> {
  const r = await run('node', ['--version']);
  return r.stdout.trim();
}

export async function buildNode(ctx: BuildContext): Promise<BuildpackResult> {
  const { opts, say } = ctx;
  opts.output('-----> Node.js app detected');
  const pkg = parsePackageJson((await ctx.read('package.json'))!);
  const lockName = ['package-lock.json', 'npm-shrinkwrap.json'].find((f) => ctx.has(f));
  const lock = lockName ? await ctx.read(lockName) : undefined;
  const version = await nodeVersion();
  say(`Using Node.js ${version}`);

  const modulesHost = join(opts.sourceDir, 'node_modules');
  if (ctx.has('node_modules')) {
    say('Removing the committed node_modules (dependencies are installed at build time)');
    await rm(modulesHost, { recursive: true, force: true });
  }
  const registry = opts.settings.npmRegistry ? ['--registry', opts.settings.npmRegistry] : [];
  const env = {
    HOME: '/tmp',
    npm_config_cache: '/cache/npm',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  // Without a lockfile the result depends on the registry's mood: not cacheable.
  const cache =
    ctx.depCacheRoot !== undefined && lock !== undefined
      ? new DepCache({ root: join(ctx.depCacheRoot, 'node'), logger: opts.logger })
      : undefined;
  const key = cacheKey({
    v: 1,
    lock,
    deps: [pkg.dependencies, pkg.devDependencies],
    node: version,
    registry,
  });

  if (cache && (await cache.restore(key, modulesHost))) {
    say('Using cached dependencies (lockfile unchanged)');
  } else {
    const verb = lock !== undefined ? 'ci' : 'install';
    say(`Installing dependencies with npm ${verb}`);
    await ctx.runner.run({
      label: `npm ${verb}`,
      argv: ['npm', verb, '--no-audit', '--no-fund', ...registry],
      env,
    });
    if (cache) await storeIfPresent(cache, key, modulesHost);
  }

  if (typeof pkg.scripts?.build === 'string') {
    say('Running npm run build');
    await ctx.runner.run({ label: 'npm run build', argv: ['npm', 'run', 'build'], env });
  }

  const deps = { ...pkg.devDependencies, ...pkg.dependencies };
  const framework = FRAMEWORKS.find((f) => f in deps)?.replace(/^@remix-run\/serve$/, 'remix');
  let web: string | undefined;
  if (typeof pkg.scripts?.start === 'string') web = 'npm start';
  else {
    // `main` ends up in a shell command: accept only a plain relative path.
    const main =
      typeof pkg.main === 'string' && /^[\w./-]+$/.test(pkg.main) && !pkg.main.split('/').includes('..')
        ? pkg.main.replace(/^\.\//, '')
        : undefined;
    const file = ['server.js', 'index.js'].find((f) => ctx.has(f)) ?? main;
    if (file) web = `node ${file}`;
  }
  return { framework, processes: web ? { web } : {}, env: { NODE_ENV: 'production' } };
}

/** A package with zero dependencies leaves no node_modules: nothing to store. */
async function storeIfPresent(cache: DepCache, key: string, dir: string): Promise<void> {
  try {
    await stat(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await cache.store(key, dir);
}
