/**
 * The identity and access commands against a recording HTTP server that
 * answers in the shapes of the API contract: what each command sends, how it
 * checks its arguments before sending anything, what it prints, its exit code.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { run, runChecked } from '../exec/index.js';
import { parseExpires, parsePrincipalArg, parsePublicKey } from './args.js';
import { appFromRemoteUrl } from './git.js';
import { until } from './io.js';
import { main } from './index.js';

interface Recorded {
  method: string;
  /** Path with the query string, exactly as sent (not decoded). */
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Reply = { status?: number; body?: unknown };
type Handler = (req: Recorded) => Reply;

const TOKEN = 'gty_test_token';
const DAY = 86_400_000;
const iso = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString();

let server: Server;
let url: string;
let home: string;
let env: Record<string, string>;
let requests: Recorded[] = [];
/** `METHOD /path` (no query) → reply. Reset before each test. */
let routes: Record<string, Handler> = {};

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  return req.headers['content-type'] === 'application/json' ? JSON.parse(text) : text;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function gantry(
  args: string[],
  opts: { stdin?: string; tty?: boolean; cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const stdin = Object.assign(Readable.from([opts.stdin ?? '']), { isTTY: opts.tty === true });
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin,
    env: opts.env ?? env,
    cwd: opts.cwd ?? home,
  });
  return { code, stdout, stderr };
}

function assertOneErrorLine(r: RunResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^error: [^\n]+\n$/, `one error line, got: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, message);
}

/** A usage error: exit 2, one error line, and not a single request made. */
async function assertRefused(args: string[], message: RegExp, opts?: Parameters<typeof gantry>[1]) {
  const before = requests.length;
  const r = await gantry(args, opts);
  assertOneErrorLine(r, 2, message);
  assert.equal(requests.length, before, `no request for ${args.join(' ')}`);
}

const last = (): Recorded => {
  const r = requests.at(-1);
  assert.ok(r, 'a request was made');
  return r;
};

async function git(cwd: string, ...args: string[]): Promise<string> {
  const gitEnv = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
  return (await runChecked('git', args, { cwd, env: gitEnv })).stdout;
}

before(async () => {
  server = createServer((req, res) => {
    void (async () => {
      const rec: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: await readBody(req),
      };
      requests.push(rec);
      const key = `${rec.method} ${rec.url.split('?')[0]}`;
      const reply: Reply = routes[key]?.(rec) ?? {
        status: 404,
        body: { error: { code: 'GANTRY_NOT_FOUND', message: `no route ${key} in this test` } },
      };
      const status = reply.status ?? 200;
      if (reply.body === undefined) {
        res.writeHead(status).end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  home = await mkdtemp(join(tmpdir(), 'gantry-identity-cli-'));
  env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'xdg'),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GANTRY_URL: url,
    GANTRY_TOKEN: TOKEN,
  };
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(home, { recursive: true, force: true });
});

beforeEach(() => {
  requests = [];
  routes = {};
});

const user = (username: string, role: string, groups: string[] = [], email: string | null = null) => ({
  username,
  email,
  role,
  groups,
  source: 'local',
  createdAt: iso(-2 * DAY),
});

void describe('users', () => {
  void test('users prints an aligned table; --json prints the API list; the token is sent', async () => {
    const users = [user('admin', 'admin', ['ops'], 'admin@example.com'), user('bob', 'viewer')];
    routes['GET /api/users'] = () => ({ body: { users } });
    const r = await gantry(['users']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '=== Users');
    assert.match(lines[1]!, /^Username +Role +Email +Groups +Source +Created$/);
    assert.match(lines[3]!, /^admin +admin +admin@example\.com +ops +local +2d ago$/);
    assert.match(lines[4]!, /^bob +viewer +— +local +2d ago$/);
    // Columns line up: the role column starts at the same offset in every row.
    assert.equal(lines[3]!.indexOf('admin', 5), lines[4]!.indexOf('viewer'));
    assert.equal(last().headers.authorization, `Bearer ${TOKEN}`);

    const j = await gantry(['users', '--json']);
    assert.deepEqual(JSON.parse(j.stdout), users);
  });

  void test('users:create sends name, role, email and a password from --password, stdin or the terminal', async () => {
    routes['POST /api/users'] = (req) => {
      const b = req.body as { username: string; role: string };
      return { status: 201, body: { user: user(b.username, b.role) } };
    };
    const r = await gantry([
      'users:create',
      'alice',
      '--role',
      'developer',
      '--password',
      'pw1',
      '-e',
      'a@x.io',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Created alice (developer)\n');
    assert.equal(last().method, 'POST');
    assert.deepEqual(last().body, { username: 'alice', role: 'developer', password: 'pw1', email: 'a@x.io' });

    const piped = await gantry(['users:create', 'carol', '-r', 'viewer', '--password', '-'], {
      stdin: 's3cret with spaces\n',
    });
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual(last().body, { username: 'carol', role: 'viewer', password: 's3cret with spaces' });

    const typed = await gantry(['users:create', 'dave', '-r', 'viewer'], {
      stdin: 'tty-pw\ntty-pw\n',
      tty: true,
    });
    assert.equal(typed.code, 0, typed.stderr);
    assert.deepEqual(last().body, { username: 'dave', role: 'viewer', password: 'tty-pw' });
    assert.doesNotMatch(typed.stdout + typed.stderr, /tty-pw/, 'the typed password is not echoed');

    // Not a terminal and no --password: an SSO-only user, and the CLI says so.
    const sso = await gantry(['users:create', 'erin', '-r', 'developer']);
    assert.equal(sso.code, 0, sso.stderr);
    assert.deepEqual(last().body, { username: 'erin', role: 'developer' });
    assert.match(sso.stderr, /No password set: erin can log in only through single sign-on/);
  });

  void test('users:create refuses a bad role, name, email, mismatched or empty passwords before sending', async () => {
    routes['POST /api/users'] = () => ({ status: 201, body: { user: user('x', 'viewer') } });
    await assertRefused(
      ['users:create', 'alice', '--role', 'root', '-p', 'x'],
      /role must be admin, developer, viewer; got "root"/,
    );
    await assertRefused(['users:create', 'al ice', '-r', 'viewer', '-p', 'x'], /invalid username "al ice"/);
    await assertRefused(['users:create', 'alice', '-r', 'viewer', '-e', 'nope'], /not an email address/);
    await assertRefused(['users:create', 'alice', '-r', 'viewer', '-p', '-'], /stdin was empty/, {
      stdin: '',
    });
    const noRole = await gantry(['users:create', 'alice']);
    assert.equal(noRole.code, 2);
    assert.match(noRole.stderr, /required option '-r, --role <role>' not specified/);
    const mismatch = await gantry(['users:create', 'alice', '-r', 'viewer'], {
      stdin: 'one\ntwo\n',
      tty: true,
    });
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /error: the passwords do not match: nothing changed\n$/);
    assert.equal(requests.length, 0);
  });

  void test('users:set-role and users:set-password PATCH the user', async () => {
    routes['PATCH /api/users/bob'] = (req) => ({
      body: { user: user('bob', (req.body as { role?: string }).role ?? 'viewer') },
    });
    const r = await gantry(['users:set-role', 'bob', 'admin']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'bob is now admin\n');
    assert.deepEqual(last().body, { role: 'admin' });
    await assertRefused(['users:set-role', 'bob', 'owner'], /role must be admin, developer, viewer/);

    const pw = await gantry(['users:set-password', 'bob', '-p', '-'], { stdin: 'n3w\r\n' });
    assert.equal(pw.code, 0, pw.stderr);
    assert.deepEqual(last().body, { password: 'n3w' });
    await assertRefused(['users:set-password', 'bob'], /give the password/);
  });

  void test('users:destroy deletes only after the name is confirmed', async () => {
    routes['DELETE /api/users/bob'] = () => ({ status: 204 });
    const wrong = await gantry(['users:destroy', 'bob'], { stdin: 'bobby\n' });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr.split('\n').at(-2),
      'error: confirmation "bobby" does not match bob: nothing deleted',
    );
    assert.equal(requests.length, 0);
    const typed = await gantry(['users:destroy', 'bob'], { stdin: 'bob\n' });
    assert.equal(typed.code, 0, typed.stderr);
    assert.equal(typed.stdout, 'Deleted bob\n');
    assert.equal(`${last().method} ${last().url}`, 'DELETE /api/users/bob');
    assert.equal((await gantry(['users:destroy', 'bob', '--confirm', 'bob'])).code, 0);
    assert.equal(requests.length, 2);
  });

  void test("a server refusal is the server's message on one line, exit 1", async () => {
    routes['GET /api/users'] = () => ({
      status: 403,
      body: { error: { code: 'GANTRY_FORBIDDEN', message: 'only admins may list users' } },
    });
    assertOneErrorLine(await gantry(['users']), 1, /^error: only admins may list users$/m);
  });
});

void describe('groups', () => {
  void test('groups lists members; add/remove/create/destroy hit the contract routes', async () => {
    const group = (name: string, members: string[]) => ({
      name,
      source: 'local',
      members,
      createdAt: iso(-DAY),
    });
    routes['GET /api/groups'] = () => ({
      body: { groups: [group('data', ['alice', 'bob']), group('empty', [])] },
    });
    const r = await gantry(['groups']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^=== Groups\nGroup +Source +Created +Members\n/);
    assert.match(r.stdout, /\ndata +local +1d ago +alice, bob\nempty +local +1d ago +—\n$/);
    assert.deepEqual(JSON.parse((await gantry(['groups', '--json'])).stdout)[0].members, ['alice', 'bob']);

    routes['POST /api/groups'] = () => ({ status: 201, body: { group: group('ops', []) } });
    routes['DELETE /api/groups/ops'] = () => ({ status: 204 });
    routes['PUT /api/groups/data/members/carol'] = () => ({
      body: { group: group('data', ['alice', 'bob', 'carol']) },
    });
    routes['DELETE /api/groups/data/members/bob'] = () => ({ body: { group: group('data', ['alice']) } });

    assert.equal((await gantry(['groups:create', 'ops'])).stdout, 'Created group ops\n');
    assert.deepEqual(last().body, { name: 'ops' });
    assert.equal((await gantry(['groups:destroy', 'ops'])).stdout, 'Deleted group ops\n');
    assert.equal(last().method, 'DELETE');
    const added = await gantry(['groups:add', 'data', 'carol']);
    assert.equal(added.stdout, 'Added carol to data (members: alice, bob, carol)\n');
    assert.equal(`${last().method} ${last().url}`, 'PUT /api/groups/data/members/carol');
    const removed = await gantry(['groups:remove', 'data', 'bob']);
    assert.equal(removed.stdout, 'Removed bob from data (members: alice)\n');
    assert.equal(`${last().method} ${last().url}`, 'DELETE /api/groups/data/members/bob');

    await assertRefused(['groups:create', '../etc'], /invalid group name/);
    await assertRefused(['groups:add', 'data', 'a/b'], /invalid username "a\/b"/);
  });
});

void describe('tokens', () => {
  void test('tokens lists with --user as a query; expiry and last use are readable', async () => {
    routes['GET /api/tokens'] = () => ({
      body: {
        tokens: [
          {
            id: 't1',
            name: 'ci',
            scope: 'app:demo',
            createdAt: iso(-DAY),
            lastUsedAt: null,
            expiresAt: iso(30 * DAY - 60_000),
          },
          {
            id: 't2',
            name: 'laptop',
            scope: 'full',
            createdAt: iso(-3 * DAY),
            lastUsedAt: iso(-120_000),
            expiresAt: null,
          },
        ],
      },
    });
    const r = await gantry(['tokens', '--user', 'alice']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(last().url, '/api/tokens?user=alice');
    assert.match(r.stdout, /^=== API tokens of alice\nID +Name +Scope +Created +Last used +Expires\n/);
    assert.match(r.stdout, /\nt1 +ci +app:demo +1d ago +never +in 29d\n/);
    assert.match(r.stdout, /\nt2 +laptop +full +3d ago +2m ago +never\n$/);
    assert.equal((await gantry(['tokens'])).code, 0);
    assert.equal(last().url, '/api/tokens');
    assert.equal(JSON.parse((await gantry(['tokens', '--json'])).stdout).length, 2);
  });

  void test('tokens:create sends name, scope and expiresIn; only the token goes to stdout', async () => {
    routes['POST /api/tokens'] = (req) => {
      const b = req.body as { name: string; scope: string; expiresIn?: number };
      const info = {
        id: 't9',
        name: b.name,
        scope: b.scope,
        createdAt: iso(0),
        lastUsedAt: null,
        expiresAt: b.expiresIn ? iso(b.expiresIn * 1000) : null,
      };
      return { status: 201, body: { token: 'gty_secret_value', info } };
    };
    const r = await gantry(['tokens:create', '--name', 'ci', '--scope', 'app:demo', '--expires', '30d']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(last().body, { name: 'ci', scope: 'app:demo', expiresIn: 30 * 86400 });
    assert.equal(r.stdout, 'gty_secret_value\n');
    assert.match(r.stderr, /^Created token t9 "ci" \(scope app:demo, expires \S+, in (29|30)d\)\n/);
    assert.match(r.stderr, /Store it now; it is not shown again\.\n$/);

    const never = await gantry(['tokens:create', '--expires', 'never']);
    assert.equal(never.code, 0, never.stderr);
    const body = last().body as Record<string, unknown>;
    assert.equal(body.scope, 'full');
    assert.match(String(body.name), /^token-\d{4}-\d{2}-\d{2}$/);
    assert.equal('expiresIn' in body, false);
    assert.match(never.stderr, /expires never/);

    assert.equal(
      (await gantry(['tokens:create', '-s', 'read', '--expires', '12h', '--user', 'bob'])).code,
      0,
    );
    assert.equal(last().url, '/api/tokens?user=bob');
    assert.deepEqual(last().body, { name: body.name, scope: 'read', expiresIn: 12 * 3600 });

    const j = JSON.parse((await gantry(['tokens:create', '--json'])).stdout);
    assert.equal(j.token, 'gty_secret_value');
    assert.equal(j.info.id, 't9');
  });

  void test('tokens:create refuses a bad scope or duration; tokens:revoke deletes by id', async () => {
    await assertRefused(
      ['tokens:create', '--scope', 'admin'],
      /scope must be full, read or app:NAME; got "admin"/,
    );
    await assertRefused(['tokens:create', '--scope', 'app:Bad_App'], /scope must be/);
    await assertRefused(['tokens:create', '--expires', '30'], /--expires expects a duration like 30d/);
    await assertRefused(['tokens:create', '--expires', '0d'], /--expires expects/);
    routes['DELETE /api/tokens/t1'] = () => ({ status: 204 });
    const r = await gantry(['tokens:revoke', 't1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Revoked token t1\n');
    assert.equal(`${last().method} ${last().url}`, 'DELETE /api/tokens/t1');
    routes['DELETE /api/tokens/nope'] = () => ({
      status: 404,
      body: { error: { code: 'GANTRY_NOT_FOUND', message: 'token nope not found' } },
    });
    assertOneErrorLine(await gantry(['tokens:revoke', 'nope']), 1, /^error: token nope not found$/m);
  });
});

void describe('whoami', () => {
  void test('shows role, groups and the token in use; an older server gets the one line', async () => {
    routes['GET /api/whoami'] = () => ({
      body: {
        id: 'u1',
        username: 'alice',
        email: 'alice@example.com',
        role: 'developer',
        groups: ['data', 'ops'],
        token: { id: 't1', name: 'ci', scope: 'app:demo', expiresAt: iso(10 * DAY + 60_000) },
        via: 'token',
      },
    });
    const r = await gantry(['whoami']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `alice (developer) on ${url}\n` +
        'Email:  alice@example.com\n' +
        'Groups: data, ops\n' +
        'Token:  ci (t1), scope app:demo, expires in 10d\n',
    );
    assert.equal(JSON.parse((await gantry(['whoami', '--json'])).stdout).token.scope, 'app:demo');

    routes['GET /api/whoami'] = () => ({
      body: { id: 'u1', username: 'alice', email: null, role: 'viewer' },
    });
    assert.equal((await gantry(['whoami'])).stdout, `alice (viewer) on ${url}\n`);
  });
});

void describe('keys', () => {
  let sshDir: string;
  before(async () => {
    sshDir = join(home, '.ssh');
    await mkdir(sshDir, { recursive: true });
  });

  const keygen = async (file: string, type: string): Promise<string> => {
    await runChecked('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'me@laptop', '-f', file]);
    return (await readFile(`${file}.pub`, 'utf8')).trim();
  };

  void test('keys:add without FILE takes ~/.ssh/id_ed25519.pub, else id_ecdsa.pub; prints fingerprint and SSH hint', async () => {
    routes['POST /api/keys'] = (req) => ({
      status: 201,
      body: {
        key: {
          id: 'k1',
          name: (req.body as { name?: string }).name ?? 'me@laptop',
          fingerprint: 'SHA256:abc+/def',
          type: String((req.body as { publicKey: string }).publicKey.split(' ')[0]),
          createdAt: iso(0),
          lastUsedAt: null,
        },
      },
    });
    await assertRefused(
      ['keys:add'],
      /no public key in .*\.ssh \(tried id_ed25519\.pub, id_ecdsa\.pub, id_rsa\.pub\)/,
    );

    const ecdsa = await keygen(join(sshDir, 'id_ecdsa'), 'ecdsa');
    const r = await gantry(['keys:add']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(last().body, { publicKey: ecdsa });
    assert.equal(
      r.stdout,
      'Added SSH key me@laptop (ecdsa-sha2-nistp256)\n' +
        'Fingerprint: SHA256:abc+/def\n' +
        'Push over SSH: gantry git:remote --ssh -a APP  (remote ssh://git@127.0.0.1:2222/APP.git)\n',
    );

    const ed = await keygen(join(sshDir, 'id_ed25519'), 'ed25519');
    assert.equal((await gantry(['keys:add', '--name', 'work'])).code, 0);
    assert.deepEqual(last().body, { publicKey: ed, name: 'work' });

    // An explicit file, relative to the current directory; --user for admins.
    assert.equal((await gantry(['keys:add', '.ssh/id_ecdsa.pub', '--user', 'bob'])).code, 0);
    assert.equal(last().url, '/api/keys?user=bob');
    assert.deepEqual(last().body, { publicKey: ecdsa });
  });

  void test('keys:add never sends a private key, a damaged key or a missing file', async () => {
    await keygen(join(sshDir, 'id_rsa'), 'ed25519');
    await assertRefused(['keys:add', join(sshDir, 'id_rsa')], /is a private key: give the public key/);
    const pub = await readFile(join(sshDir, 'id_rsa.pub'), 'utf8');
    await writeFile(join(home, 'lying.pub'), pub.replace('ssh-ed25519', 'ssh-rsa'));
    await assertRefused(['keys:add', 'lying.pub'], /does not match its type ssh-rsa/);
    await writeFile(join(home, 'junk.pub'), 'hello world\n');
    await assertRefused(['keys:add', 'junk.pub'], /not an OpenSSH public key/);
    await assertRefused(['keys:add', 'missing.pub'], /no such file: .*missing\.pub/);
  });

  void test('keys lists; keys:remove URL-encodes a fingerprint', async () => {
    routes['GET /api/keys'] = () => ({
      body: {
        keys: [
          {
            id: 'k1',
            name: 'laptop',
            fingerprint: 'SHA256:abc',
            type: 'ssh-ed25519',
            createdAt: iso(-DAY),
            lastUsedAt: null,
          },
        ],
      },
    });
    const r = await gantry(['keys']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^=== SSH keys\nID +Name +Type +Fingerprint +Added +Last used\n[─ ]+\nk1 +laptop +ssh-ed25519 +SHA256:abc +1d ago +never\n$/,
    );
    routes['DELETE /api/keys/SHA256:ab+/c='] = () => ({ status: 204 });
    routes['DELETE /api/keys/SHA256%3Aab%2B%2Fc%3D'] = () => ({ status: 204 });
    const rm1 = await gantry(['keys:remove', 'SHA256:ab+/c=']);
    assert.equal(rm1.code, 0, rm1.stderr);
    assert.equal(last().url, '/api/keys/SHA256%3Aab%2B%2Fc%3D');
    assert.equal(rm1.stdout, 'Removed SSH key SHA256:ab+/c=\n');
  });
});

void describe('app collaborators and access', () => {
  const state = { owner: 'alice', collaborators: ['user:bob', 'group:data'] };
  const access = { ...state, visibility: 'restricted', viewers: ['group:analysts'] };

  void test('apps:collaborators lists owner and collaborators; add/remove send canonical principals', async () => {
    routes['GET /api/apps/demo/collaborators'] = () => ({ body: state });
    const r = await gantry(['apps:collaborators', '-a', 'demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^=== demo Collaborators\nPrincipal +Right\n[─ ]+\nuser:alice +owner\nuser:bob +collaborator\ngroup:data +collaborator\n$/,
    );
    assert.deepEqual(
      JSON.parse((await gantry(['apps:collaborators', '-a', 'demo', '--json'])).stdout),
      state,
    );

    routes['POST /api/apps/demo/collaborators'] = () => ({ body: state });
    const added = await gantry(['apps:collaborators:add', '-a', 'demo', 'carol']);
    assert.equal(added.stdout, 'Added user:carol as a collaborator on demo\n');
    assert.deepEqual(last().body, { principal: 'user:carol' });
    assert.equal((await gantry(['apps:collaborators:add', 'group:ops', '-a', 'demo'])).code, 0);
    assert.deepEqual(last().body, { principal: 'group:ops' });

    routes['DELETE /api/apps/demo/collaborators/group%3Adata'] = () => ({ body: state });
    const removed = await gantry(['apps:collaborators:remove', '-a', 'demo', 'group:data']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(`${last().method} ${last().url}`, 'DELETE /api/apps/demo/collaborators/group%3Adata');

    await assertRefused(
      ['apps:collaborators:add', '-a', 'demo', 'team:x'],
      /expected user:NAME or group:NAME, got "team:x"/,
    );
    await assertRefused(
      ['apps:collaborators:add', '-a', 'demo', 'user:'],
      /expected user:NAME or group:NAME/,
    );
    await assertRefused(['apps:collaborators', '--json'], /no app given: use -a NAME/);
  });

  void test('an app whose owner was deleted says admins manage it', async () => {
    routes['GET /api/apps/demo/collaborators'] = () => ({ body: { owner: null, collaborators: [] } });
    const r = await gantry(['apps:collaborators', '-a', 'demo']);
    assert.match(r.stdout, /demo has no owner \(its owner was deleted\): admins manage it/);
  });

  void test('access shows visibility and everyone who may open the app; changes go to the access routes', async () => {
    routes['GET /api/apps/demo/access'] = () => ({ body: access });
    const r = await gantry(['access', '-a', 'demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^=== demo Access\nVisibility: restricted \(only the owner, collaborators and viewers may open it\)\n/,
    );
    assert.match(
      r.stdout,
      /\nuser:alice +owner\nuser:bob +collaborator\ngroup:data +collaborator\ngroup:analysts +viewer\n$/,
    );
    assert.deepEqual(JSON.parse((await gantry(['access', '-a', 'demo', '--json'])).stdout), access);

    routes['POST /api/apps/demo/access'] = () => ({ body: { ...access, visibility: 'authenticated' } });
    const added = await gantry(['access:add', '-a', 'demo', 'group:finance']);
    assert.equal(added.stdout, 'Added viewer group:finance to demo\n');
    assert.deepEqual(last().body, { principal: 'group:finance' });
    assert.match(
      added.stderr,
      /Note: demo is authenticated, so viewers make no difference until gantry access:visibility restricted -a demo/,
    );

    routes['DELETE /api/apps/demo/access/user%3Aeve'] = () => ({ body: access });
    const removed = await gantry(['access:remove', '-a', 'demo', 'eve']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stderr, '');

    routes['PUT /api/apps/demo/access/visibility'] = (req) => ({
      body: { ...access, ...(req.body as object) },
    });
    const vis = await gantry(['access:visibility', '-a', 'demo', 'public']);
    assert.equal(vis.stdout, 'demo is now public: anyone may open it, no login needed\n');
    assert.deepEqual(last().body, { visibility: 'public' });
    await assertRefused(
      ['access:visibility', '-a', 'demo', 'private'],
      /visibility must be public, authenticated, restricted; got "private"/,
    );
    await assertRefused(
      ['access:add', '-a', 'demo', 'group:$(touch /tmp/x)'],
      /expected user:NAME or group:NAME/,
    );
  });
});

void describe('audit and secrets', () => {
  void test('audit turns its filters into the query and prints one event per row', async () => {
    routes['GET /api/audit'] = () => ({
      body: {
        events: [
          {
            id: 'e2',
            at: '2026-01-02T10:00:00.000Z',
            actor: 'admin',
            action: 'user.role',
            target: 'user:bob',
            ip: '10.0.0.1',
            detail: { role: 'admin', from: 'viewer' },
          },
          {
            id: 'e1',
            at: '2026-01-01T09:00:00.000Z',
            actor: null,
            action: 'login.failed',
            target: null,
            ip: '10.0.0.9',
            detail: {},
          },
        ],
      },
    });
    const r = await gantry([
      'audit',
      '--limit',
      '5',
      '--action',
      'user.role',
      '--actor',
      'admin',
      '--app',
      'demo',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(last().url, '/api/audit?limit=5&action=user.role&actor=admin&target=app%3Ademo');
    assert.match(r.stdout, /^=== Audit log\nTime +Actor +Action +Target +IP +Detail\n/);
    assert.match(
      r.stdout,
      /\n2026-01-02T10:00:00\.000Z +admin +user\.role +user:bob +10\.0\.0\.1 +role=admin from=viewer\n/,
    );
    assert.match(r.stdout, /\n2026-01-01T09:00:00\.000Z +— +login\.failed +10\.0\.0\.9\n$/);
    assert.equal((await gantry(['audit'])).code, 0);
    assert.equal(last().url, '/api/audit');
    assert.equal(JSON.parse((await gantry(['audit', '--json', '--target', 'user:bob'])).stdout)[0].id, 'e2');
    assert.equal(last().url, '/api/audit?target=user%3Abob');

    await assertRefused(['audit', '--limit', '0'], /--limit expects a number from 1 to 1000, got "0"/);
    await assertRefused(['audit', '--limit', 'lots'], /--limit expects a number/);
    await assertRefused(['audit', '--app', 'a', '--target', 'user:b'], /give --app or --target, not both/);
    await assertRefused(['audit', '--before', 'yesterday'], /--before expects a date/);
  });

  void test('secrets:rotate-key prints the new key id and how many secrets were re-encrypted', async () => {
    routes['POST /api/admin/master-key/rotate'] = () => ({ body: { keyId: 'k2026', reencrypted: 14 } });
    const r = await gantry(['secrets:rotate-key']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Rotated the master key: new key k2026, 14 secrets re-encrypted\n');
    assert.equal(`${last().method} ${last().url}`, 'POST /api/admin/master-key/rotate');
    routes['POST /api/admin/master-key/rotate'] = () => ({
      status: 403,
      body: { error: { code: 'GANTRY_FORBIDDEN', message: 'only admins may rotate the master key' } },
    });
    assertOneErrorLine(await gantry(['secrets:rotate-key']), 1, /only admins may rotate the master key/);
  });
});

void describe('git:remote --ssh', () => {
  void test('sets an ssh:// remote on the server host; app commands then find the app from it', async () => {
    routes['GET /api/apps/demo'] = () => ({
      body: { name: 'demo', gitUrl: 'http://gantry.test/git/demo.git', url: 'http://gantry.test/apps/demo/' },
    });
    routes['GET /api/apps/demo/access'] = () => ({
      body: { owner: 'alice', collaborators: [], visibility: 'public', viewers: [] },
    });
    const repo = join(home, 'repo');
    await mkdir(repo);
    await git(repo, 'init', '-q');
    const r = await gantry(['git:remote', '--ssh', '-a', 'demo'], { cwd: repo });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (await git(repo, 'remote', 'get-url', 'gantry')).trim(),
      'ssh://git@127.0.0.1:2222/demo.git',
    );
    assert.match(r.stdout, /^Added git remote gantry → ssh:\/\/git@127\.0\.0\.1:2222\/demo\.git\n/);
    // No HTTPS credential helper for an SSH remote.
    const helpers = await run('git', ['config', '--local', '--get-regexp', 'credential'], { cwd: repo });
    assert.equal(helpers.stdout, '');

    const found = await gantry(['access'], { cwd: repo });
    assert.equal(found.code, 0, found.stderr);
    assert.equal(last().url, '/api/apps/demo/access');

    const port = await gantry(['git:remote', '--ssh', '--ssh-port', '22', '-a', 'demo'], { cwd: repo });
    assert.match(port.stdout, /^Updated git remote gantry → ssh:\/\/git@127\.0\.0\.1:22\/demo\.git\n/);
    await assertRefused(
      ['git:remote', '--ssh', '--ssh-port', '70000', '-a', 'demo'],
      /--ssh-port expects a port number/,
      {
        cwd: repo,
      },
    );
  });
});

void describe('argument parsers', () => {
  void test('durations, principals, remote URLs and key lines', () => {
    assert.equal(parseExpires('90m'), 5400);
    assert.equal(parseExpires('2w'), 14 * 86400);
    assert.equal(parseExpires('never'), undefined);
    assert.throws(() => parseExpires('1y'), /--expires expects/);
    assert.equal(parsePrincipalArg('bob'), 'user:bob');
    assert.equal(parsePrincipalArg('group:data-team'), 'group:data-team');
    assert.throws(() => parsePrincipalArg('--upload-pack=x'), /expected user:NAME/);
    assert.equal(appFromRemoteUrl('ssh://git@gantry.example.com:2222/demo.git'), 'demo');
    assert.equal(appFromRemoteUrl('https://gantry.example.com/git/demo.git'), 'demo');
    assert.equal(appFromRemoteUrl('ssh://git@github.com/org/demo.git'), undefined);
    assert.equal(until(null), 'never');
    assert.equal(until(iso(-1000)), 'expired');
    assert.throws(
      () => parsePublicKey('ssh-ed25519 AAAA\nssh-ed25519 AAAA\n', 'f'),
      /not an OpenSSH public key/,
    );
  });
});
