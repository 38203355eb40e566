import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runChecked } from '../exec/index.js';
import { isGantryError, type ErrorCode } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import { buildSlug, type BuildOptions } from './index.js';
import { SandboxRunner } from './runner.js';
import { PRIVILEGED_ENV } from '../runtime/sandbox.js';
import { descendantsOf } from '../runtime/proctree.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `gantry-buildtest-${prefix}-`));
  await chmod(d, 0o755); // the app uid must be able to traverse it
  dirs.push(d);
  return d;
}

async function source(files: Record<string, string>): Promise<string> {
  const d = await tempDir('src');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(d, name)), { recursive: true });
    await writeFile(join(d, name), content);
  }
  return d;
}

interface Built {
  lines: string[];
  opts: BuildOptions;
}

function options(sourceDir: string, cacheDir: string, over: Partial<BuildOptions> = {}): Built {
  const lines: string[] = [];
  const opts: BuildOptions = {
    app: 'testapp',
    uid: 200100,
    sourceDir,
    cacheDir,
    env: {},
    settings: { pythonSystemPackages: false, unsafeNoSandbox: false },
    output: (t) => lines.push(t),
    logger: silentLogger,
    ...over,
  };
  return { lines, opts };
}

async function rejects(p: Promise<unknown>, code: ErrorCode, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isGantryError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

void describe('detection and manifests (no build commands)', () => {
  void test('index.html alone is a static site served from the root', async () => {
    const src = await source({ 'index.html': '<h1>hi</h1>' });
    const { opts, lines } = options(src, await tempDir('cache'));
    const m = await buildSlug(opts);
    assert.equal(m.buildpack, 'static');
    assert.deepEqual(m.static, { root: '.' });
    assert.deepEqual(m.processes, {});
    assert.ok(lines.includes('-----> Static site detected'));
  });

  void test('.static names the directory to serve; escaping it fails', async () => {
    const src = await source({ '.static': 'public\n', 'public/index.html': 'x' });
    const m = await buildSlug(options(src, await tempDir('cache')).opts);
    assert.deepEqual(m.static, { root: 'public' });
    const bad = await source({ '.static': '../../etc\n' });
    await rejects(
      buildSlug(options(bad, await tempDir('cache')).opts),
      'GANTRY_BUILD_FAILED',
      /not a directory inside the app/,
    );
  });

  void test('Procfile-only app: release split out, formation from app.json, healthchecks kept', async () => {
    const src = await source({
      Procfile: 'web: ./serve --port $PORT\nworker: ./work\nrelease: ./migrate\n',
      'app.json': JSON.stringify({
        formation: { worker: { quantity: 2 } },
        healthchecks: { web: [{ type: 'startup', name: 'up', path: '/health' }] },
        scripts: { dokku: { predeploy: './pre' } },
      }),
    });
    const m = await buildSlug(options(src, await tempDir('cache')).opts);
    assert.equal(m.buildpack, 'procfile');
    assert.deepEqual(m.processes, { web: './serve --port $PORT', worker: './work' });
    assert.equal(m.release, './migrate');
    assert.deepEqual(m.formation, { web: 1, worker: 2 });
    assert.equal(m.healthchecks.web?.[0]?.path, '/health');
    assert.equal(m.predeploy, './pre');
  });

  void test('an invalid Procfile fails the build with the parser message', async () => {
    const src = await source({ Procfile: 'web: a\nWeb_1: b\n', 'index.html': '' });
    await rejects(
      buildSlug(options(src, await tempDir('cache')).opts),
      'GANTRY_BUILD_FAILED',
      /^Procfile line 2: "Web_1" is not a valid process name/,
    );
    const json = await source({ 'app.json': '{"formation": ', Procfile: 'web: x' });
    await rejects(
      buildSlug(options(json, await tempDir('cache')).opts),
      'GANTRY_BUILD_FAILED',
      /app\.json is not valid JSON/,
    );
  });

  void test('nothing recognisable: a helpful error', async () => {
    const src = await source({ 'notes.txt': 'hello' });
    await rejects(
      buildSlug(options(src, await tempDir('cache')).opts),
      'GANTRY_BUILD_FAILED',
      /could not detect the app type: add a requirements\.txt/,
    );
  });
});

void describe('source safety', () => {
  void test('a symlink to /etc/passwd is rejected, naming the file', async () => {
    const src = await source({ 'index.html': '' });
    await symlink('/etc/passwd', join(src, 'passwd'));
    await rejects(
      buildSlug(options(src, await tempDir('cache')).opts),
      'GANTRY_UNSAFE_SOURCE',
      /passwd is a symbolic link to an absolute path/,
    );
  });

  void test('relative links escaping the tree are rejected, even through an inner link', async () => {
    const src = await source({ 'index.html': '', 'sub/x.txt': '' });
    await symlink('../../../../../../etc/passwd', join(src, 'sub', 'up'));
    await rejects(
      buildSlug(options(src, await tempDir('cache')).opts),
      'GANTRY_UNSAFE_SOURCE',
      /sub\/up is a symbolic link pointing outside/,
    );
    const sneaky = await source({ 'index.html': '' });
    await symlink('.', join(sneaky, 'here'));
    // Lexically "here/.." is the tree itself; the kernel resolves it to the tree's parent.
    await symlink('here/..', join(sneaky, 'escape'));
    await rejects(buildSlug(options(sneaky, await tempDir('cache')).opts), 'GANTRY_UNSAFE_SOURCE', /escape/);
  });

  void test('FIFOs are rejected; links inside the tree are fine; a symlinked Procfile is refused', async () => {
    const fifo = await source({ 'index.html': '' });
    await runChecked('mkfifo', ['--', join(fifo, 'pipe')]);
    await rejects(
      buildSlug(options(fifo, await tempDir('cache')).opts),
      'GANTRY_UNSAFE_SOURCE',
      /pipe is a FIFO/,
    );
    const ok = await source({ 'index.html': '', 'docs/a.html': '' });
    await symlink('docs/a.html', join(ok, 'a.html'));
    assert.equal((await buildSlug(options(ok, await tempDir('cache')).opts)).buildpack, 'static');
    const linked = await source({ 'real-procfile': 'web: x', 'index.html': '' });
    await symlink('real-procfile', join(linked, 'Procfile'));
    await rejects(
      buildSlug(options(linked, await tempDir('cache')).opts),
      'GANTRY_UNSAFE_SOURCE',
      /Procfile is a symbolic link/,
    );
  });
});

void describe('R', () => {
  void test('app.R is a Shiny app; renv.lock packages are checked against the server library', async () => {
    const src = await source({ 'app.R': 'library(shiny)\n' });
    const m = await buildSlug(options(src, await tempDir('cache'), { uid: 200102 }).opts);
    assert.equal(m.buildpack, 'r');
    assert.equal(m.framework, 'shiny');
    assert.match(m.processes.web!, /GANTRY_SHINY_LAUNCHER/);
    assert.ok(m.env.GANTRY_SHINY_LAUNCHER?.includes("shinyAppDir('/app')"));

    const lock = (pkgs: string[]): string =>
      JSON.stringify({
        R: { Version: '4.2.2' },
        Packages: Object.fromEntries(pkgs.map((p) => [p, { Package: p }])),
      });
    const good = await source({ 'app.R': '', 'renv.lock': lock(['shiny', 'renv']) });
    const gm = await buildSlug(options(good, await tempDir('cache'), { uid: 200102 }).opts);
    assert.equal(gm.env.RENV_CONFIG_AUTOLOADER_ENABLED, 'FALSE');
    const bad = await source({ 'app.R': '', 'renv.lock': lock(['shiny', 'notapkgxyz', 'alsomissing']) });
    await rejects(
      buildSlug(options(bad, await tempDir('cache'), { uid: 200102 }).opts),
      'GANTRY_BUILD_FAILED',
      /not installed on this server: alsomissing, notapkgxyz/,
    );
  });
});

void describe('Python', () => {
  void test('flask from system packages, offline wheelhouse, cached on the second build', async () => {
    const cache = await tempDir('cache');
    const wheelhouse = await tempDir('wheels');
    const files = {
      'requirements.txt': 'flask\n',
      'app.py': 'from flask import Flask\napp = Flask(__name__)\n',
    };
    const settings = { pythonSystemPackages: true, pipWheelhouse: wheelhouse, unsafeNoSandbox: false };
    const first = options(await source(files), cache, { uid: 200103, settings });
    let t = Date.now();
    const m = await buildSlug(first.opts);
    const cold = Date.now() - t;
    assert.equal(m.buildpack, 'python');
    assert.equal(m.framework, 'flask');
    assert.equal(m.processes.web, 'gunicorn app:app --bind 0.0.0.0:$PORT');
    assert.equal(m.env.VIRTUAL_ENV, '/app/.venv');
    assert.deepEqual(m.formation, { web: 1 });
    assert.ok(
      first.lines.some((l) => /Requirement already satisfied: flask/i.test(l)),
      first.lines.join('\n'),
    );
    const venv = join(first.opts.sourceDir, '.venv');
    assert.equal((await lstat(join(venv, 'bin', 'python'))).isSymbolicLink(), true);
    assert.equal((await stat(join(venv, 'pyvenv.cfg'))).uid, 200103, 'built as the app uid');
    assert.match(await readFile(join(venv, 'pyvenv.cfg'), 'utf8'), /include-system-site-packages = true/);

    const second = options(await source(files), cache, { uid: 200103, settings });
    t = Date.now();
    await buildSlug(second.opts);
    const warm = Date.now() - t;
    assert.ok(
      second.lines.includes('       Using cached dependencies (requirements unchanged)'),
      second.lines.join('\n'),
    );
    assert.ok(!second.lines.some((l) => /Requirement already satisfied/.test(l)));
    assert.ok(existsSync(join(second.opts.sourceDir, '.venv', 'pyvenv.cfg')));
    assert.ok(warm < cold, `cached build (${warm} ms) should beat the cold one (${cold} ms)`);
  });

  void test('empty requirements still give a venv; config vars are never shell-expanded', async () => {
    const marker = join(tmpdir(), `gantry-pwned-${process.pid}`);
    const src = await source({ 'requirements.txt': '# nothing\n', 'main.py': 'print(1)\n' });
    const { opts, lines } = options(src, await tempDir('cache'), {
      uid: 200104,
      env: { EVIL: `$(touch ${marker})`, PIP_EVIL: '; touch ' + marker },
    });
    const m = await buildSlug(opts);
    assert.equal(m.processes.web, 'python main.py');
    assert.equal(m.framework, undefined);
    assert.ok(existsSync(join(src, '.venv', 'bin', 'python')));
    assert.ok(lines.some((l) => /nothing to install/.test(l)));
    assert.equal(existsSync(marker), false);
  });

  void test('pyproject.toml: its [project].dependencies are installed, not the project', async () => {
    const wheelhouse = await tempDir('wheels');
    const src = await source({
      'pyproject.toml': '[project]\nname = "myapp"\nversion = "0.1"\ndependencies = [\n  "flask>=2",\n]\n',
      'app.py': 'import flask\n',
    });
    const { opts, lines } = options(src, await tempDir('cache'), {
      uid: 200108,
      settings: { pythonSystemPackages: true, pipWheelhouse: wheelhouse, unsafeNoSandbox: false },
    });
    const m = await buildSlug(opts);
    assert.equal(m.framework, 'flask');
    assert.ok(
      lines.includes('       Installing 1 dependencies from pyproject.toml with pip'),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => /Requirement already satisfied: flask>=2/.test(l)));
  });

  void test('a failing pip install fails the build with the last line of output', async () => {
    const wheelhouse = await tempDir('wheels');
    const src = await source({ 'requirements.txt': 'surely-not-a-package-gantry==1.0\n' });
    const { opts, lines } = options(src, await tempDir('cache'), {
      uid: 200105,
      settings: { pythonSystemPackages: true, pipWheelhouse: wheelhouse, unsafeNoSandbox: false },
    });
    await rejects(
      buildSlug(opts),
      'GANTRY_BUILD_FAILED',
      /^pip install failed \(exit 1\): .*surely-not-a-package-gantry/,
    );
    assert.ok(lines.some((l) => l.startsWith('       ') && /No matching distribution/.test(l)));
  });
});

void describe('unsafe mode (no sandbox)', () => {
  void test('builds on the host as the app uid, paths mapped, no dependency cache', async () => {
    const src = await source({ 'requirements.txt': '', 'app.py': '' });
    const cache = await tempDir('cache');
    const { opts } = options(src, cache, {
      uid: 200107,
      settings: { pythonSystemPackages: false, unsafeNoSandbox: true },
    });
    const m = await buildSlug(opts);
    assert.equal(m.processes.web, 'python app.py');
    const cfg = join(src, '.venv', 'pyvenv.cfg');
    assert.equal((await stat(cfg)).uid, 200107);
    assert.equal(existsSync(join(cache, 'deps')), false);
  });
});

void describe('Node', () => {
  void test('npm ci with a lockfile, npm run build as the app uid, cached node_modules', async () => {
    const cache = await tempDir('cache');
    const pkg = {
      name: 'n',
      version: '1.0.0',
      scripts: {
        build: "node -e \"require('fs').writeFileSync('built.txt', String(process.getuid()))\"",
        start: 'node server.js',
      },
      dependencies: { 'is-number': '7.0.0' },
    };
    const lock = {
      name: 'n',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'n', version: '1.0.0', dependencies: { 'is-number': '7.0.0' } },
        'node_modules/is-number': {
          version: '7.0.0',
          resolved: 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
          integrity:
            'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
          license: 'MIT',
          engines: { node: '>=0.12.0' },
        },
      },
    };
    const files = {
      'package.json': JSON.stringify(pkg),
      'package-lock.json': JSON.stringify(lock),
      'server.js': '',
    };
    const first = options(await source(files), cache, { uid: 200106 });
    const m = await buildSlug(first.opts);
    assert.equal(m.buildpack, 'node');
    assert.equal(m.processes.web, 'npm start');
    assert.equal(m.env.NODE_ENV, 'production');
    assert.equal(await readFile(join(first.opts.sourceDir, 'built.txt'), 'utf8'), '200106');
    assert.ok(existsSync(join(first.opts.sourceDir, 'node_modules', 'is-number', 'package.json')));
    assert.ok(first.lines.some((l) => l === '       Installing dependencies with npm ci'));

    const second = options(await source(files), cache, { uid: 200106 });
    await buildSlug(second.opts);
    assert.ok(
      second.lines.includes('       Using cached dependencies (lockfile unchanged)'),
      second.lines.join('\n'),
    );
    assert.ok(existsSync(join(second.opts.sourceDir, 'node_modules', 'is-number', 'index.js')));
  });
});

/** `NAME=value\0…` as a record. */
function parseEnv0(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/** Host pids whose argv contains `needle` as one argument. */
function pidsWithArg(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(needle)) out.push(Number(name));
    } catch {
      continue; // exited meanwhile
    }
  }
  return out;
}

void describe('build steps: config vars never reach the privileged helpers', () => {
  void test('config PATH/LD_PRELOAD: not in bwrap’s env, fake bwrap ignored, values verbatim', async () => {
    const src = await source({ 'app.py': '' });
    const root = await tempDir('evil');
    const evilDir = join(root, 'bin');
    await mkdir(evilDir, { mode: 0o755 });
    const marker = join(root, 'fake-helper-ran');
    for (const name of ['bwrap', 'setpriv', 'sh']) {
      await writeFile(join(evilDir, name), `#!/bin/sh\ntouch ${marker}\n`);
      await chmod(join(evilDir, name), 0o755);
    }
    const secret = `build-secret-${process.pid}`;
    const env = {
      PATH: `${evilDir}:/usr/bin:/bin`,
      LD_PRELOAD: '/nonexistent-gantry-preload.so',
      SECRET: secret,
      TRICKY: `it's "q"\n$(touch ${marker}) \`touch ${marker}\``,
    };
    const hostname = `envtest${process.pid}`;
    const runner = new SandboxRunner({
      app: hostname,
      uid: 200108,
      sourceDir: src,
      toolCacheDir: await tempDir('cache'),
      tmpDir: await tempDir('tmp'),
      binds: [],
      env,
      unsafe: false,
      output: () => undefined,
      logger: silentLogger,
    });
    const slow = runner.run({ label: 'sleep', argv: ['/bin/sleep', '2'], stream: false });
    let bwrapEnvs: Record<string, string>[] = [];
    const deadline = Date.now() + 1500;
    while (bwrapEnvs.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const pids = pidsWithArg(hostname);
      const tree = [...pids, ...pids.flatMap((p) => descendantsOf(p))];
      for (const p of tree)
        assert.ok(!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(secret), 'secret in a host argv');
      bwrapEnvs = pids.map((p) => parseEnv0(readFileSync(`/proc/${p}/environ`, 'utf8')));
    }
    await slow;
    assert.ok(bwrapEnvs.length > 0, 'bwrap process not found');
    for (const e of bwrapEnvs) assert.deepEqual(e, { ...PRIVILEGED_ENV });
    const r = await runner.run({ label: 'env', argv: ['/usr/bin/env', '-0'], stream: false });
    const got = parseEnv0(r.stdout);
    for (const [k, v] of Object.entries(env)) assert.equal(got[k], v, `${k} mangled`);
    assert.ok(!existsSync(marker), 'a fake helper or a config value was executed');
  });
});
