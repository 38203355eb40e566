/**
 * Python buildpack: a virtualenv at /app/.venv built inside the sandbox from
 * requirements.txt, uv.lock (when uv is installed) or pyproject.toml, cached
 * by a hash of those files, the interpreter and the index settings.
 *
 * Like Heroku, the project itself is not installed from pyproject.toml (only
 * its dependencies): the app runs from /app, and a cached venv can never hold
 * a stale copy of the app's own code. A setup.py-only project is the
 * exception: it is installed and never cached.
 */
import { constants } from 'node:fs';
import { access, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec/index.js';
import { GantryError } from '../errors/index.js';
import { cacheKey, DepCache } from './cache.js';
import { defaultPyWeb, detectPyFramework } from './frameworks.js';
import type { BuildContext, BuildpackResult } from './types.js';

const PYTHON = '/usr/bin/python3';
const VENV = '/app/.venv';
const VENV_PY = `${VENV}/bin/python`;
/** The PATH inside the sandbox (host /usr, /bin… are bound read-only at the same paths). */
const SANDBOX_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

type Mode = 'requirements' | 'uv' | 'pyproject' | 'project';

const meaningfulLines = (text: string): string[] =>
  text
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);

async function inSandboxPath(cmd: string): Promise<boolean> {
  for (const dir of SANDBOX_PATH) {
    try {
      await access(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      continue; // not in this directory
    }
  }
  return false;
}

/** Interpreter version and whether it has pip, asked of the system python (no app code involved). */
async function systemPython(): Promise<{ version: string; hasPip: boolean }> {
  const r = await run(PYTHON, [
    '-I',
    '-c',
    'import sys\nprint(sys.version.split()[0])\ntry:\n import pip\n print("pip")\nexcept ImportError:\n print("")',
  ]);
  if (r.code !== 0)
    throw new GantryError(
      'GANTRY_BUILD_FAILED',
      `${PYTHON} is not usable on this server: ${r.stderr.trim().split('\n').at(-1) ?? ''}`,
    );
  const [version = '', pip = ''] = r.stdout.split('\n');
  return { version, hasPip: pip === 'pip' };
}

/**
 * Files referenced with -r/-c are folded into the cache key; local paths
 * (-e ., ./pkg, file:) depend on the app's code, so they disable the cache.
 */
async function requirementsKeyParts(
  ctx: BuildContext,
  text: string,
): Promise<Record<string, string> | undefined> {
  const parts: Record<string, string> = {};
  for (const line of meaningfulLines(text)) {
    if (/^(-e|--editable)\b|^[./]|^file:|@\s*file:/.test(line)) return undefined;
    const ref = /^(?:-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)$/.exec(line);
    if (!ref) continue;
    const name = ref[1]!;
    if (name.includes('/')) return undefined;
    const content = await ctx.read(name);
    if (content === undefined || /^(-r|--requirement|-c|--constraint)\b/m.test(content)) return undefined;
    parts[name] = content;
  }
  return parts;
}

function indexArgs(ctx: BuildContext): string[] {
  const s = ctx.opts.settings;
  if (s.pipWheelhouse) return ['--no-index', '--find-links', '/wheelhouse'];
  if (s.pipIndexUrl) return ['--index-url', s.pipIndexUrl];
  return [];
}

const PIP_ENV = { PIP_CACHE_DIR: '/cache/pip', PIP_DISABLE_PIP_VERSION_CHECK: '1' };

function pip(ctx: BuildContext, label: string, args: string[]): Promise<unknown> {
  return ctx.runner.run({
    label,
    argv: [
      VENV_PY,
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--progress-bar',
      'off',
      ...indexArgs(ctx),
      ...args,
    ],
    env: PIP_ENV,
  });
}

/** `[project].dependencies` of pyproject.toml, or null when it has none to offer. */
async function pyprojectDependencies(ctx: BuildContext): Promise<string[] | null> {
  const script = [
    'import json, tomllib',
    'with open("/app/pyproject.toml", "rb") as f: d = tomllib.load(f)',
    'deps = d.get("project", {}).get("dependencies")',
    'ok = isinstance(deps, list) and all(isinstance(x, str) for x in deps)',
    'print(json.dumps(deps if ok else None))',
  ].join('\n');
  const r = await ctx.runner.run({
    label: 'reading pyproject.toml',
    argv: [PYTHON, '-I', '-c', script],
    stream: false,
  });
  return JSON.parse(r.stdout) as string[] | null;
}

/** Installs into the (fresh) venv. Returns false if the result must not be cached. */
async function install(ctx: BuildContext, mode: Mode, requirements: string | undefined): Promise<boolean> {
  const { say, opts } = ctx;
  if (mode === 'requirements') {
    if (meaningfulLines(requirements ?? '').length === 0) {
      say('requirements.txt is empty: nothing to install');
      return true;
    }
    say('Installing requirements with pip');
    await pip(ctx, 'pip install', ['-r', '/app/requirements.txt']);
    return true;
  }
  if (mode === 'uv') {
    say('Installing dependencies from uv.lock with uv');
    const s = opts.settings;
    const idx = s.pipWheelhouse
      ? ['--no-index', '--find-links', '/wheelhouse']
      : s.pipIndexUrl
        ? ['--index-url', s.pipIndexUrl]
        : [];
    await ctx.runner.run({
      label: 'uv sync',
      argv: ['uv', 'sync', '--frozen', '--no-install-project', '--no-dev', ...idx],
      env: {
        UV_CACHE_DIR: '/cache/uv',
        UV_PROJECT_ENVIRONMENT: VENV,
        UV_PYTHON: VENV_PY,
        UV_PYTHON_DOWNLOADS: 'never',
        UV_LINK_MODE: 'copy',
      },
    });
    return true;
  }
  if (mode === 'pyproject') {
    const deps = await pyprojectDependencies(ctx);
    if (deps !== null) {
      const safe = deps.filter((d) => !d.trim().startsWith('-'));
      if (safe.length === 0) {
        say('pyproject.toml declares no dependencies');
        return true;
      }
      say(`Installing ${safe.length} dependencies from pyproject.toml with pip`);
      await pip(ctx, 'pip install', ['--', ...safe]);
      return true;
    }
    say('pyproject.toml has no [project].dependencies: installing the project itself');
  } else {
    say('Installing the project (setup.py) with pip');
  }
  // Offline builds cannot fetch setuptools into an isolated build env; the system one will do.
  const isolation = opts.settings.pythonSystemPackages ? ['--no-build-isolation'] : [];
  await pip(ctx, 'pip install', [...isolation, '/app']);
  return false;
}

/** Wheel names in the wheelhouse (part of the cache key); warns when app users cannot read it. */
async function wheelhouse(ctx: BuildContext): Promise<string[]> {
  const dir = ctx.opts.settings.pipWheelhouse;
  if (!dir) return [];
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    throw new GantryError(
      'GANTRY_BUILD_FAILED',
      `the pip wheelhouse ${dir} cannot be read: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (!st.isDirectory())
    throw new GantryError('GANTRY_BUILD_FAILED', `the pip wheelhouse ${dir} is not a directory`);
  if ((st.mode & 0o005) !== 0o005 && st.uid !== ctx.opts.uid)
    ctx.say(`Warning: the pip wheelhouse ${dir} is not readable by app users (chmod o+rx it)`);
  return (await readdir(dir)).sort();
}

export async function buildPython(ctx: BuildContext): Promise<BuildpackResult> {
  const { opts, say } = ctx;
  const s = opts.settings;
  opts.output('-----> Python app detected');
  const requirements = await ctx.read('requirements.txt');
  const pyproject = await ctx.read('pyproject.toml');
  const uvLock = await ctx.read('uv.lock');
  let mode: Mode;
  if (requirements !== undefined) mode = 'requirements';
  else if (uvLock !== undefined && (await inSandboxPath('uv'))) mode = 'uv';
  else if (pyproject !== undefined) {
    mode = 'pyproject';
    if (uvLock !== undefined)
      say(
        'uv is not installed on this server: installing pyproject.toml dependencies with pip (uv.lock pins are not enforced)',
      );
  } else mode = 'project';

  const py = await systemPython();
  say(`Using Python ${py.version}${s.pythonSystemPackages ? ' (with system site-packages)' : ''}`);
  const venvHost = join(opts.sourceDir, '.venv');
  if (ctx.has('.venv')) {
    say('Removing the committed .venv (dependencies are installed at build time)');
    await rm(venvHost, { recursive: true, force: true });
  }

  const extra = mode === 'requirements' ? await requirementsKeyParts(ctx, requirements!) : {};
  const cache =
    ctx.depCacheRoot !== undefined && extra !== undefined && mode !== 'project'
      ? new DepCache({ root: join(ctx.depCacheRoot, 'python'), logger: opts.logger })
      : undefined;
  const key = cacheKey({
    v: 1,
    mode,
    requirements,
    extra,
    pyproject: mode === 'requirements' ? undefined : pyproject,
    uvLock: mode === 'uv' ? uvLock : undefined,
    python: py.version,
    system: s.pythonSystemPackages,
    index: s.pipIndexUrl ?? null,
    wheelhouse: await wheelhouse(ctx),
  });

  if (cache && (await cache.restore(key, venvHost))) {
    say('Using cached dependencies (requirements unchanged)');
  } else {
    const nothingToInstall = mode === 'requirements' && meaningfulLines(requirements!).length === 0;
    // With system site-packages the system pip is importable from the venv: skip ensurepip (~5 s).
    const withoutPip = nothingToInstall || (s.pythonSystemPackages && py.hasPip);
    say('Creating virtualenv at /app/.venv');
    await ctx.runner.run({
      label: 'python3 -m venv',
      argv: [
        PYTHON,
        '-m',
        'venv',
        ...(s.pythonSystemPackages ? ['--system-site-packages'] : []),
        ...(withoutPip ? ['--without-pip'] : []),
        VENV,
      ],
    });
    const cacheable = await install(ctx, mode, requirements);
    if (cache && cacheable) await cache.store(key, venvHost);
  }

  const entry = ['app.py', 'main.py', 'streamlit_app.py'].find((f) => ctx.has(f));
  const entrySource = entry ? await ctx.read(entry) : undefined;
  const framework = detectPyFramework({ requirements: requirements ?? pyproject ?? '', entrySource });
  let hasGunicorn = false;
  if (framework === 'dash' || framework === 'flask') {
    const r = await ctx.runner.run({
      label: 'gunicorn check',
      argv: [VENV_PY, '-c', 'import gunicorn'],
      stream: false,
      allowFailure: true,
    });
    hasGunicorn = r.code === 0;
  }
  if (framework) say(`Detected framework: ${framework}`);
  return {
    framework,
    processes: entry ? { web: defaultPyWeb(framework, entry, hasGunicorn) } : {},
    env: { VIRTUAL_ENV: VENV },
  };
}
