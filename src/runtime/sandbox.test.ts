import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runChecked } from '../exec/index.js';
import { isGantryError } from '../errors/index.js';
import { waitFor } from './contract.js';
import { prepareDataDir, SandboxedProcess } from './process.js';
import { descendantsOf, pidsOfUid } from './proctree.js';
import { dataDirExposure, envFileData, isRoot, PRIVILEGED_ENV, sandboxCommand } from './sandbox.js';

const roots: string[] = [];
const uids: number[] = [];
let nextUid = 300_000 + (process.pid % 1000) * 10;

void after(async () => {
  const leftovers = uids.flatMap((u) => pidsOfUid(u));
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
  assert.deepEqual(leftovers, [], 'orphan app processes left behind');
});

async function makeApp(files: Record<string, string> = {}) {
  const root = await mkdtemp(join(tmpdir(), 'gantry-sbx-'));
  roots.push(root);
  await chmod(root, 0o755);
  const slugPath = join(root, 'slug');
  await runChecked('mkdir', ['-m', '755', slugPath]);
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(slugPath, name), text);
    await chmod(join(slugPath, name), 0o644);
  }
  const uid = nextUid++;
  uids.push(uid);
  const dataPath = join(root, 'data');
  prepareDataDir(dataPath, uid);
  return { root, slugPath, dataPath, uid };
}

/** Values a naive quoting would mangle or, worse, execute. */
function nasty(marker: string): Record<string, string> {
  return {
    QUOTES: `it's "double" and 'single' '\\'' \\`,
    NEWLINES: 'line1\nline2\n\nexport INJECTED=1\n',
    SUBST: `$(touch ${marker}) \`touch ${marker}\` \${HOME} $HOME`,
    SEMI: `'; touch ${marker}; echo '`,
    EMPTY: '',
    UNICODE: 'héllo ✓ \t tab',
  };
}

/** `env -0` output as a record. */
function parseEnv0(out: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of out.split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/** Environment of a process (empty if it is gone). */
function environOf(pid: number): Record<string, string> {
  try {
    return parseEnv0(readFileSync(`/proc/${pid}/environ`, 'utf8'));
  } catch {
    return {}; // exited meanwhile
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // exited meanwhile
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return ''; // exited meanwhile
  }
}

void describe('sandbox: app environment', () => {
  void test('the env file quotes every value for sh', () => {
    assert.equal(envFileData({ A: "it's" }), "export A='it'\\''s'\n");
    assert.throws(
      () => envFileData({ 'BAD-NAME': 'x' }),
      (e) => isGantryError(e, 'GANTRY_INVALID_CONFIG'),
    );
    assert.throws(
      () => envFileData({ 'A=B': 'x' }),
      (e) => isGantryError(e, 'GANTRY_INVALID_CONFIG'),
    );
    assert.throws(
      () => envFileData({ A: 'x\0y' }),
      (e) => isGantryError(e, 'GANTRY_INVALID_CONFIG'),
    );
  });

  void test('bwrap is spawned by absolute path with a fixed env; the app env is not in its argv', () => {
    const cmd = sandboxCommand({
      uid: 4242,
      hostname: 't',
      binds: [],
      cwd: '/',
      argv: ['/bin/true'],
      env: { PATH: '/evil', LD_PRELOAD: '/data/x.so', SECRET: 'hunter2' },
    });
    assert.match(cmd.file, /^\/.*\/bwrap$/);
    assert.deepEqual(cmd.env, { ...PRIVILEGED_ENV });
    assert.ok(!cmd.args.some((a) => /hunter2|x\.so|\/evil/.test(a)), 'app env leaked into argv');
    assert.match(cmd.envFileData ?? '', /export SECRET='hunter2'/);
  });

  void test('values with quotes, newlines, $(), backticks arrive verbatim and nothing runs', async () => {
    const app = await makeApp();
    const marker = join(app.root, 'marker');
    const env = { ...nasty(marker), PATH: '/usr/bin:/bin' };
    const cmd = sandboxCommand({
      uid: app.uid,
      hostname: 'verbatim',
      binds: [{ src: app.dataPath, dest: '/data', writable: true }],
      cwd: '/data',
      argv: ['/usr/bin/env', '-0'],
      env,
    });
    const r = await run(cmd.file, cmd.args, { env: cmd.env, extraFdData: cmd.envFileData });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const got = parseEnv0(r.stdout);
    for (const [k, v] of Object.entries(env)) assert.equal(got[k], v, `${k} mangled`);
    assert.equal(got.INJECTED, undefined);
    assert.ok(!existsSync(marker), 'a config value was executed');
  });
});

void describe('sandbox: privileged helpers never see the app env', () => {
  void test('exploit A: LD_PRELOAD from config runs only as the app uid, never in bwrap/setpriv', async () => {
    // A real preload library that records every process it is loaded into.
    const app = await makeApp();
    const src = join(app.root, 'evil.c');
    await writeFile(
      src,
      `#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
  char line[160], name[64] = "?";
  int c = open("/proc/self/comm", O_RDONLY);
  if (c >= 0) { ssize_t n = read(c, name, sizeof name - 1); if (n > 0) name[n - 1] = 0; close(c); }
  int fd = open("/data/preload.log", O_WRONLY | O_APPEND | O_CREAT, 0666);
  if (fd < 0) return;
  int len = snprintf(line, sizeof line, "%d %s\\n", (int)getuid(), name);
  if (write(fd, line, len) < 0) { /* nothing to do */ }
  close(fd);
}
`,
    );
    await runChecked('gcc', ['-shared', '-fPIC', '-o', join(app.slugPath, 'evil.so'), src]);
    await chmod(join(app.slugPath, 'evil.so'), 0o644);
    const secret = `s3cr3t-${process.pid}-value`;
    const lines: string[] = [];
    const proc = SandboxedProcess.start({
      app: 'exploita',
      name: 'exploita.web.1',
      slugPath: app.slugPath,
      dataPath: app.dataPath,
      uid: app.uid,
      env: { LD_PRELOAD: '/app/evil.so', SECRET: secret },
      command: 'sleep 30',
      unsafe: false,
      logSink: (l) => lines.push(l.text),
    });
    try {
      const bwrapPid = proc.pid!;
      const sleeper = await waitFor('the app process', () =>
        descendantsOf(bwrapPid).find((p) => comm(p) === 'sleep'),
      );
      // The app got its environment…
      assert.equal(environOf(sleeper).SECRET, secret);
      assert.equal(environOf(sleeper).LD_PRELOAD, '/app/evil.so');
      // …bwrap (the host process and its namespace init) did not.
      const bwraps = [bwrapPid, ...descendantsOf(bwrapPid)].filter((p) => comm(p) === 'bwrap');
      assert.ok(bwraps.length >= 1);
      for (const p of bwraps) assert.deepEqual(environOf(p), { ...PRIVILEGED_ENV }, `bwrap ${p} env`);
      // No command line in the tree shows a config value.
      for (const p of [bwrapPid, ...descendantsOf(bwrapPid)])
        assert.ok(!cmdlineOf(p).includes(secret), `secret in the argv of ${p}: ${cmdlineOf(p)}`);
    } finally {
      await proc.terminate(2000);
    }
    const log = (await readFile(join(app.dataPath, 'preload.log'), 'utf8')).trim().split('\n');
    assert.ok(log.length >= 1, 'the app itself should have loaded the library');
    for (const l of log) assert.match(l, new RegExp(`^${app.uid} `), `preloaded with privileges: ${l}`);
    assert.ok(!log.some((l) => l.includes('setpriv') || l.includes('bwrap')));
    if (isRoot()) assert.ok(!log.some((l) => l.startsWith('0 ')));
  });

  void test('exploit B: a config PATH does not choose which bwrap runs', async () => {
    const app = await makeApp();
    const evilDir = join(app.root, 'evil');
    await runChecked('mkdir', ['-m', '755', evilDir]);
    const marker = join(app.root, 'fake-bwrap-ran');
    for (const name of ['bwrap', 'setpriv', 'sh']) {
      await writeFile(join(evilDir, name), `#!/bin/sh\ntouch ${marker}\n`);
      await chmod(join(evilDir, name), 0o755);
    }
    const out: string[] = [];
    const proc = SandboxedProcess.start({
      app: 'exploitb',
      name: 'exploitb.run',
      slugPath: app.slugPath,
      dataPath: app.dataPath,
      uid: app.uid,
      env: { PATH: `${evilDir}:/usr/bin:/bin` },
      command: 'echo "ran as $(id -u) with PATH=$PATH"',
      unsafe: false,
      logSink: (l) => out.push(l.text),
    });
    const exit = await proc.exited;
    assert.equal(exit.code, 0, out.join('\n'));
    assert.deepEqual(out, [`ran as ${app.uid} with PATH=${evilDir}:/usr/bin:/bin`]);
    assert.ok(!existsSync(marker), 'a fake helper from the app PATH was executed');
  });
});

test('a data dir inside a sandbox-visible system dir is refused when apps share Gantry’s uid', () => {
  assert.match(
    dataDirExposure('/opt/gantry/.gantry', { root: false }) ?? '',
    /inside \/opt, which every app sandbox can read/,
  );
  assert.match(dataDirExposure('/etc/gantry', { root: false }) ?? '', /inside \/etc/);
  assert.equal(
    dataDirExposure('/opt/gantry/.gantry', { root: true }),
    undefined,
    'as root the 0700 dir keeps other uids out',
  );
  assert.equal(dataDirExposure('/var/lib/gantry', { root: false }), undefined);
  assert.equal(dataDirExposure('/optional/x', { root: false }), undefined);
});
