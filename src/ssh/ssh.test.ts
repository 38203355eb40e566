/**
 * git over SSH end to end: the real OpenSSH client and real git against the
 * ssh2 server and the real git service (receive-pack, pre-receive hook, hook
 * socket). Only onPush (the deploy) is a fake.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, runChecked, spawnProcess } from '../exec/index.js';
import { GantryError } from '../errors/index.js';
import { createGitService, ZERO_SHA, type GitService, type PushContext } from '../git/index.js';
import { parsePublicKey } from '../identity/sshkey.js';
import type { Identity } from '../identity/types.js';
import { silentLogger } from '../log/index.js';
import ssh2 from 'ssh2';
import { createSshServer, ONLY_GIT, type SshServer } from './index.js';

const pwned = `/tmp/pwned-${randomBytes(6).toString('hex')}`;

let root: string;
let dataDir: string;
let svc: GitService;
let ssh: SshServer;
const apps = new Set(['demo', 'fail', 'clone', 'quiet', 'big']);
/** Who may manage which app (the server wires policy.allows(…, 'manage')). */
const managers: Record<string, string[]> = { alice: ['demo', 'fail', 'clone', 'quiet', 'big'], bob: [] };
/** fingerprint → stored key, as the directory keeps them. */
const keys = new Map<string, { username: string; publicKey: string }>();
let lookups = 0;
const calls: PushContext[] = [];
let onPush: (ctx: PushContext) => Promise<void> = async () => undefined;

function identity(username: string): Identity {
  return { userId: `u-${username}`, username, email: null, role: 'developer', groups: [], via: 'ssh' };
}

/** Creates a key pair; registers it for `user` unless undefined. Returns the private key path. */
async function makeKey(name: string, user?: string): Promise<string> {
  const path = join(root, 'keys', name);
  await mkdir(join(root, 'keys'), { recursive: true });
  await runChecked('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  if (user) {
    const parsed = parsePublicKey(readFileSync(`${path}.pub`, 'utf8'));
    keys.set(parsed.fingerprint, { username: user, publicKey: parsed.line });
  }
  return path;
}

const sshArgs = (key: string | string[]): string[] => [
  ...(Array.isArray(key) ? key : [key]).flatMap((k) => ['-i', k]),
  '-F',
  '/dev/null',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'BatchMode=yes',
  '-o',
  'LogLevel=ERROR',
];

function clientEnv(key: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
    // git adds `-p PORT` from the URL.
    GIT_SSH_COMMAND: ['ssh', ...sshArgs(key)].join(' '),
  };
}

let alice: string;
let bob: string;
let stranger: string;
let gone: string;

const url = (app: string) => `ssh://git@127.0.0.1:${ssh.port}/${app}.git`;
const git = (key: string, cwd: string, ...args: string[]) =>
  run('git', args, { cwd, env: clientEnv(key), timeoutMs: 30_000 });
/** Runs the OpenSSH client itself: `ssh … git@127.0.0.1 [command]`. */
const sshRun = (key: string | string[], ...rest: string[]) =>
  run('ssh', [...sshArgs(key), '-p', String(ssh.port), ...rest], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root },
    input: '',
    timeoutMs: 20_000,
  });

async function workRepo(name: string, files: Record<string, string>): Promise<{ dir: string; sha: string }> {
  const dir = join(root, 'work', name);
  await mkdir(dir, { recursive: true });
  await git(alice, dir, 'init', '-q', '-b', 'main');
  return { dir, sha: await commit(dir, files) };
}

async function commit(dir: string, files: Record<string, string>): Promise<string> {
  for (const [f, content] of Object.entries(files)) await writeFile(join(dir, f), content);
  await git(alice, dir, 'add', '-A');
  await git(alice, dir, 'commit', '-q', '-m', 'change');
  return (await git(alice, dir, 'rev-parse', 'HEAD')).stdout.trim();
}

async function bareRef(app: string): Promise<string | undefined> {
  const r = await run('git', ['rev-parse', '--verify', '--quiet', 'refs/heads/main'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_DIR: join(dataDir, 'repos', `${app}.git`) },
  });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gantry-ssh-'));
  dataDir = join(root, 'data');
  svc = createGitService({
    dataDir,
    maxPushBytes: 1024 * 1024,
    logger: silentLogger,
    authenticate: async () => undefined,
    appExists: async (name) => apps.has(name),
    authorize: (id, app) => managers[id.username]?.includes(app) ?? false,
    onPush: (ctx) => {
      calls.push(ctx);
      return onPush(ctx);
    },
  });
  await svc.start();
  for (const app of apps) await svc.ensureRepo(app);
  [alice, bob, stranger, gone] = await Promise.all([
    makeKey('alice', 'alice'),
    makeKey('bob', 'bob'),
    makeKey('stranger'),
    makeKey('gone', 'gone'),
  ]);
  ssh = await createSshServer({
    host: '127.0.0.1',
    port: 0,
    hostKeyPath: join(dataDir, 'keys', 'ssh_host_ed25519_key'),
    lookupKey: (fp) => {
      lookups++;
      return keys.get(fp);
    },
    // `gone` has a key on file but no longer exists as a user.
    identityOf: (u) => (u in managers ? identity(u) : undefined),
    git: svc,
    logger: silentLogger,
  });
});

after(async () => {
  await ssh.close();
  await svc.close();
  await rm(root, { recursive: true, force: true });
});

describe('git over SSH', { timeout: 60_000 }, () => {
  test('a push to an app the key’s user manages deploys and moves the ref', async () => {
    const { dir, sha } = await workRepo('demo', { 'app.py': 'print("hi")\n' });
    onPush = async (ctx) => {
      ctx.output('-----> Building demo\n');
      // The pushed objects are readable through gitEnv while the push is quarantined.
      const dest = join(root, `export-${ctx.update.newSha}`);
      await svc.exportCommit({ repoPath: ctx.repoPath, sha: ctx.update.newSha, dest, gitEnv: ctx.gitEnv });
      ctx.output(`-----> Deployed ${readFileSync(join(dest, 'app.py'), 'utf8')}`);
    };
    calls.length = 0;
    const r = await git(alice, dir, 'push', url('demo'), 'HEAD:main');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(calls.length, 1);
    const ctx = calls[0]!;
    assert.equal(ctx.app, 'demo');
    assert.equal(ctx.user, 'alice');
    assert.equal(ctx.identity.via, 'ssh');
    assert.equal(ctx.ip, '127.0.0.1');
    assert.deepEqual(ctx.update, { ref: 'refs/heads/main', oldSha: ZERO_SHA, newSha: sha });
    assert.match(r.stderr, /^remote: -----> Building demo\s*$/m);
    assert.match(r.stderr, /^remote: -----> Deployed print\("hi"\)\s*$/m);
    assert.equal(await bareRef('demo'), sha);

    // scp-like address and a second push (fast-forward) work too.
    const next = await commit(dir, { 'app.py': 'print("v2")\n' });
    const scp = await run('git', ['push', `git@127.0.0.1:demo.git`, 'HEAD:main'], {
      cwd: dir,
      env: { ...clientEnv(alice), GIT_SSH_COMMAND: `${clientEnv(alice).GIT_SSH_COMMAND} -p ${ssh.port}` },
      timeoutMs: 30_000,
    });
    assert.equal(scp.code, 0, scp.stderr);
    assert.equal(await bareRef('demo'), next);
  });

  test('a push by a user who may not manage the app is refused as "app not found"', async () => {
    const { dir } = await workRepo('bob', { 'a.txt': 'bob' });
    const before = await bareRef('demo');
    calls.length = 0;
    const r = await git(bob, dir, 'push', url('demo'), '+HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^gantry: app not found: demo /m);
    const unknown = await git(bob, dir, 'push', url('nope'), '+HEAD:main');
    assert.notEqual(unknown.code, 0);
    assert.equal(unknown.stderr.replace(/nope/g, 'X'), r.stderr.replace(/demo/g, 'X'), 'same answer');
    const clone = await git(bob, root, 'clone', '-q', url('demo'), join(root, 'bob-clone'));
    assert.notEqual(clone.code, 0);
    assert.match(clone.stderr, /app not found: demo/);
    assert.equal(calls.length, 0);
    assert.equal(await bareRef('demo'), before);
    assert.equal(existsSync(join(dataDir, 'repos', 'nope.git')), false);
  });

  test('an unknown key, or the key of a deleted user, is denied', async () => {
    const { dir } = await workRepo('stranger', { 'a.txt': 's' });
    const before = await bareRef('demo');
    for (const key of [stranger, gone]) {
      const r = await git(key, dir, 'push', url('demo'), '+HEAD:main');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied \(publickey\)/);
      const shell = await sshRun(key, 'git@127.0.0.1', "git-upload-pack 'demo.git'");
      assert.equal(shell.code, 255);
      assert.match(shell.stderr, /Permission denied \(publickey\)/);
    }
    assert.equal(await bareRef('demo'), before);
  });

  test('a key that is not the one stored under its fingerprint is denied', async () => {
    // A lookup that answers with another user's key line: the offered blob must match the stored one.
    const aliceLine = [...keys.values()].find((k) => k.username === 'alice')!.publicKey;
    const imposter = await makeKey('imposter');
    const fp = parsePublicKey(readFileSync(`${imposter}.pub`, 'utf8')).fingerprint;
    keys.set(fp, { username: 'alice', publicKey: aliceLine });
    try {
      const r = await sshRun(imposter, 'git@127.0.0.1', "git-upload-pack 'demo.git'");
      assert.equal(r.code, 255);
      assert.match(r.stderr, /Permission denied \(publickey\)/);
    } finally {
      keys.delete(fp);
    }
  });

  test('a signature not made by the stored key is refused', async () => {
    // An agent that offers alice's public key (which the server accepts as a query) but signs
    // with another private key: only checking the signature stops it.
    const alicePub = ssh2.utils.parseKey(readFileSync(`${alice}.pub`, 'utf8'));
    const forger = ssh2.utils.parseKey(readFileSync(stranger));
    assert.ok(!(alicePub instanceof Error) && !(forger instanceof Error) && !Array.isArray(forger));
    let signed = 0;
    class ForgingAgent extends ssh2.BaseAgent {
      getIdentities(cb: (err: Error | undefined, keys?: ssh2.ParsedKey[]) => void): void {
        cb(undefined, Array.isArray(alicePub) ? alicePub : [alicePub as ssh2.ParsedKey]);
      }
      sign(_pub: unknown, data: Buffer, ...rest: unknown[]): void {
        signed++;
        const cb = rest[rest.length - 1] as (err: Error | undefined, sig?: Buffer) => void;
        cb(undefined, (forger as ssh2.ParsedKey).sign(data));
      }
    }
    const outcome = await new Promise<string>((ok) => {
      const c = new ssh2.Client();
      c.on('ready', () => {
        c.end();
        ok('logged in');
      });
      c.on('error', (e) => ok(e.message));
      c.connect({ host: '127.0.0.1', port: ssh.port, username: 'git', agent: new ForgingAgent() });
    });
    assert.equal(signed, 1, 'the key was accepted as a query and a signature was asked for');
    assert.match(outcome, /All configured authentication methods failed/);
  });

  test('a shell, or any other command, is refused with a message', async () => {
    const shell = await sshRun(alice, 'git@127.0.0.1');
    assert.equal(shell.code, 1);
    assert.equal(shell.stderr.trim(), ONLY_GIT);
    // No pty: OpenSSH warns and goes on (fatal only when forced with -t, as here).
    const pty = await sshRun(alice, '-tt', 'git@127.0.0.1');
    assert.notEqual(pty.code, 0);
    assert.match(pty.stderr, /PTY allocation request failed/);
    for (const cmd of [
      'ls /',
      `touch ${pwned}`,
      `git-receive-pack 'demo.git'; touch ${pwned}`,
      `git-upload-pack '$(touch ${pwned})'`,
      "git-upload-archive 'demo.git'",
      "git-receive-pack '../demo.git'",
    ]) {
      const r = await sshRun(alice, 'git@127.0.0.1', cmd);
      assert.equal(r.code, 1, cmd);
      assert.equal(r.stderr.trim(), ONLY_GIT, cmd);
      assert.equal(r.stdout, '', cmd);
    }
    const sftp = await run('sftp', [...sshArgs(alice), '-P', String(ssh.port), 'git@127.0.0.1'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root },
      input: 'ls\n',
      timeoutMs: 20_000,
    });
    assert.notEqual(sftp.code, 0);
    assert.equal(existsSync(pwned), false);
  });

  test('port forwarding is refused both ways', async () => {
    const remote = await sshRun(
      alice,
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-R',
      '0:127.0.0.1:9',
      'git@127.0.0.1',
    );
    assert.notEqual(remote.code, 0);
    assert.match(remote.stderr, /remote port forwarding failed/);

    // -L: the local end listens, but the server refuses to open the channel to the target.
    let reached = 0;
    const target: Server = createServer((s) => {
      reached++;
      s.end('secret');
    });
    await new Promise<void>((ok) => target.listen(0, '127.0.0.1', ok));
    const targetPort = (target.address() as { port: number }).port;
    const localPort = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawnProcess(
      'ssh',
      [
        ...sshArgs(alice),
        '-p',
        String(ssh.port),
        '-N',
        '-L',
        `${localPort}:127.0.0.1:${targetPort}`,
        'git@127.0.0.1',
      ],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root }, stdio: 'ignore' },
    );
    const exited = new Promise((ok) => child.on('close', ok));
    try {
      let got: string | undefined;
      for (let i = 0; i < 100 && got === undefined; i++) {
        got = await new Promise<string | undefined>((ok) => {
          const s = connect(localPort, '127.0.0.1');
          let data = '';
          s.setEncoding('utf8');
          s.on('data', (d: string) => (data += d));
          s.on('error', () => ok(undefined));
          s.on('close', (hadError) => ok(hadError ? undefined : data));
        });
        if (got === undefined) await sleep(100);
      }
      assert.equal(got, '', 'the forwarded connection is closed without data');
      assert.equal(reached, 0);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await new Promise<void>((ok) => target.close(() => ok()));
    }
  });

  test('a failing deploy leaves the ref and shows the error as remote: lines, as over HTTPS', async () => {
    const { dir, sha: first } = await workRepo('fail', { 'a.txt': 'one' });
    onPush = async () => undefined;
    assert.equal((await git(alice, dir, 'push', url('fail'), 'HEAD:main')).code, 0);
    await commit(dir, { 'a.txt': 'two' });
    onPush = async (ctx) => {
      ctx.output('building...\n');
      throw new GantryError('GANTRY_BUILD_FAILED', 'build failed: no Procfile and no known app type');
    };
    const r = await git(alice, dir, 'push', url('fail'), 'HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^remote: building\.\.\.\s*$/m);
    assert.match(r.stderr, /remote: {2}! build failed: no Procfile and no known app type/);
    assert.match(r.stderr, /\[remote rejected\] +HEAD -> main \(pre-receive hook declined\)/);
    assert.equal(await bareRef('fail'), first);

    const branch = await git(alice, dir, 'push', url('fail'), 'HEAD:feature');
    assert.notEqual(branch.code, 0);
    assert.match(branch.stderr, /only main or master can be pushed/);
  });

  test('a push over the size limit is refused', async () => {
    const { dir } = await workRepo('big', { 'blob.bin': randomBytes(3 * 1024 * 1024).toString('base64') });
    calls.length = 0;
    const r = await git(alice, dir, 'push', url('big'), 'HEAD:main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pack exceeds maximum allowed size/);
    assert.equal(calls.length, 0);
    assert.equal(await bareRef('big'), undefined);

    // A command list that never ends: receive-pack keeps reading, so only Gantry's own count stops it.
    const pkt = (line: string) => (Buffer.byteLength(line) + 4).toString(16).padStart(4, '0') + line;
    const body = Array.from({ length: 40_000 }, (_, i) =>
      pkt(`${ZERO_SHA} ${'1'.repeat(40)} refs/heads/b${i}${i === 0 ? '\0report-status' : ''}\n`),
    ).join('');
    assert.ok(body.length > 3 * 1024 * 1024);
    const raw = await run(
      'ssh',
      [...sshArgs(alice), '-p', String(ssh.port), 'git@127.0.0.1', "git-receive-pack 'big.git'"],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root },
        input: body,
        timeoutMs: 20_000,
      },
    );
    assert.notEqual(raw.code, 0);
    assert.match(raw.stderr, /gantry: push rejected: it is larger than the limit of 1 MiB/);
    assert.equal(calls.length, 0);
  });

  test('clone and fetch work for a user who manages the app', async () => {
    const { dir, sha } = await workRepo('clone', { 'README.md': '# hi\n' });
    onPush = async () => undefined;
    assert.equal((await git(alice, dir, 'push', url('clone'), 'HEAD:main')).code, 0);
    const dest = join(root, 'cloned');
    const c = await git(alice, root, 'clone', '-q', url('clone'), dest);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(readFileSync(join(dest, 'README.md'), 'utf8'), '# hi\n');
    assert.equal((await git(alice, dest, 'rev-parse', 'HEAD')).stdout.trim(), sha);
    const next = await commit(dir, { 'README.md': '# v2\n' });
    assert.equal((await git(alice, dir, 'push', url('clone'), 'HEAD:main')).code, 0);
    const f = await git(alice, dest, 'fetch', '-q', 'origin');
    assert.equal(f.code, 0, f.stderr);
    assert.equal((await git(alice, dest, 'rev-parse', 'origin/main')).stdout.trim(), next);
    const v0 = await git(
      alice,
      root,
      '-c',
      'protocol.version=0',
      'clone',
      '-q',
      url('clone'),
      join(root, 'v0'),
    );
    assert.equal(v0.code, 0, v0.stderr);
  });

  test('a client that disconnects mid-deploy cancels it and the ref stays', async () => {
    const { dir } = await workRepo('quiet', { 'a.txt': 'x' });
    let started!: () => void;
    const running = new Promise<void>((ok) => (started = ok));
    let aborted!: () => void;
    const abortSeen = new Promise<void>((ok) => (aborted = ok));
    onPush = async (ctx) => {
      started();
      await new Promise<void>((ok) => ctx.signal.addEventListener('abort', () => ok(), { once: true }));
      aborted();
      throw new GantryError('GANTRY_BUILD_FAILED', 'aborted');
    };
    // In its own process group, so git and its ssh can be killed together (as Ctrl-C in a terminal does).
    const child = spawnProcess('git', ['push', url('quiet'), 'HEAD:main'], {
      cwd: dir,
      env: clientEnv(alice),
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise((ok) => child.on('close', ok));
    await running;
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    await abortSeen;
    assert.equal(await bareRef('quiet'), undefined);
  });

  test('failed key attempts per connection are limited', async () => {
    const many = await Promise.all(Array.from({ length: 9 }, (_, i) => makeKey(`many-${i}`)));
    lookups = 0;
    const r = await sshRun(many, 'git@127.0.0.1', "git-upload-pack 'demo.git'");
    assert.equal(r.code, 255);
    assert.ok(lookups <= 6, `${lookups} keys were looked up`);
  });

  test('the host key is generated once, 0600, and reused', async () => {
    const path = join(dataDir, 'keys', 'ssh_host_ed25519_key');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(ssh.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const printed = await runChecked('ssh-keygen', ['-l', '-f', path]);
    assert.ok(printed.stdout.includes(ssh.hostKeyFingerprint));
    const again = await createSshServer({
      host: '127.0.0.1',
      port: 0,
      hostKeyPath: path,
      lookupKey: () => undefined,
      identityOf: () => undefined,
      git: svc,
      logger: silentLogger,
    });
    try {
      assert.equal(again.hostKeyFingerprint, ssh.hostKeyFingerprint);
    } finally {
      await again.close();
    }
  });
});
