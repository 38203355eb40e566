import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../log/index.js';
import { GantryError, isGantryError } from '../errors/index.js';
import { Users } from '../auth/index.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import type { PasswordProvider } from '../sso/types.js';
import { SqlDirectory } from './directory.js';
import { LoginService } from './login.js';
import type { ExternalIdentity, Role } from './types.js';
import { pgAvailable, postgresStore, sqliteStore, type TestStore } from './test-stores.js';

/**
 * A password provider with a fixed user list (stands in for LDAP, which has its
 * own tests against a real slapd): records each call; `down` makes it throw.
 */
class ListProvider implements PasswordProvider {
  readonly type = 'ldap' as const;
  readonly label: string;
  calls: string[] = [];
  down = false;
  constructor(
    readonly name: string,
    readonly defaultRole: Role,
    readonly users: Record<string, { password: string; ext: Omit<ExternalIdentity, 'provider'> }>,
  ) {
    this.label = name;
  }
  async authenticate(username: string, password: string): Promise<ExternalIdentity | undefined> {
    this.calls.push(username);
    if (this.down) throw new GantryError('GANTRY_INTERNAL', `${this.name} is unreachable`);
    const u = this.users[username];
    return u && u.password === password ? { provider: this.name, ...u.ext } : undefined;
  }
  async close(): Promise<void> {}
}

const IP = { ip: '192.0.2.7' };

async function setup(
  t: TestContext,
  open: () => Promise<TestStore>,
  limiter = new LoginLimiter(),
): Promise<{ dir: SqlDirectory; login: LoginService; a: ListProvider; b: ListProvider }> {
  const ts = await open();
  await new Users(ts.store.db).bootstrapAdmin('admin-password');
  const dir = new SqlDirectory({ db: ts.store.db, logger: silentLogger });
  await dir.load();
  t.after(async () => {
    await dir.close();
    await ts.cleanup();
  });
  await dir.createUser(
    { username: 'admin', ip: null },
    { username: 'alice', role: 'developer', password: 'alice-password' },
  );
  const a = new ListProvider('corp-ldap', 'viewer', {
    erin: {
      password: 'erin-ldap',
      ext: { subject: 'uid=erin', username: 'erin', email: 'erin@corp', groups: ['eng'] },
    },
    // The directory maps this login to the name of an existing local user: refused, never merged.
    asmith: {
      password: 'alice-ldap',
      ext: { subject: 'uid=asmith', username: 'alice', email: null, groups: [] },
    },
  });
  const b = new ListProvider('ad', 'developer', {
    erin: { password: 'erin-ad', ext: { subject: 'S-1', username: 'erin', email: null, groups: [] } },
    frank: {
      password: 'frank-ad',
      ext: { subject: 'S-2', username: 'frank', email: 'frank@corp', groups: ['ops'] },
    },
  });
  const login = new LoginService({ directory: dir, limiter, providers: [a, b], logger: silentLogger });
  return { dir, login, a, b };
}

function suite(open: () => Promise<TestStore>): void {
  test('local users sign in with their password only; failures are audited without the password', async (t) => {
    const { dir, login, a, b } = await setup(t, open);
    const ok = await login.passwordLogin('alice', 'alice-password', IP);
    assert.ok('identity' in ok);
    assert.equal(ok.identity.username, 'alice');
    assert.equal(ok.identity.via, 'password');
    assert.deepEqual(await login.passwordLogin('alice', 'alice-ldap', IP), { failed: true });
    assert.deepEqual(a.calls, [], 'a local user is never checked against a provider');
    assert.deepEqual(b.calls, []);
    assert.deepEqual(await login.passwordLogin('alice', '', IP), { failed: true });

    const [failed, success] = [
      await dir.listAudit({ action: 'login.failed' }),
      await dir.listAudit({ action: 'login' }),
    ];
    assert.equal(failed.length, 2);
    assert.deepEqual(
      [failed[0]?.actor, failed[0]?.ip, failed[0]?.target, failed[0]?.detail],
      [null, '192.0.2.7', null, { username: 'alice' }],
    );
    assert.ok(!JSON.stringify(failed).includes('alice-ldap'));
    assert.deepEqual(
      [success[0]?.actor, success[0]?.target, success[0]?.detail],
      ['alice', 'user:alice', { via: 'password' }],
    );
  });

  test('unknown users try each provider in order; the first that accepts creates the user', async (t) => {
    const { dir, login, a, b } = await setup(t, open);
    const r = await login.passwordLogin('frank', 'frank-ad', IP);
    assert.ok('identity' in r);
    assert.deepEqual([a.calls, b.calls], [['frank'], ['frank']]);
    assert.deepEqual(
      [r.identity.username, r.identity.role, r.identity.email, r.identity.groups],
      ['frank', 'developer', 'frank@corp', ['ops']],
    );
    assert.equal(dir.getUser('frank')?.source, 'ad');
    assert.deepEqual((await dir.listAudit({ action: 'login' }))[0]?.detail, { via: 'ad' });

    // Known now: only their own provider is asked.
    a.calls = [];
    b.calls = [];
    assert.ok('identity' in (await login.passwordLogin('frank', 'frank-ad', IP)));
    assert.deepEqual([a.calls, b.calls], [[], ['frank']]);

    // The first provider that accepts wins (erin is in both).
    const e = await login.passwordLogin('erin', 'erin-ldap', IP);
    assert.ok('identity' in e);
    assert.equal(dir.getUser('erin')?.source, 'corp-ldap');
    assert.equal(e.identity.role, 'viewer');
    assert.deepEqual(await login.passwordLogin('erin', 'erin-ad', IP), { failed: true });
    assert.deepEqual(await login.passwordLogin('nobody', 'x', IP), { failed: true });
    assert.deepEqual(await login.passwordLogin('nobody', '', IP), { failed: true });
  });

  test('a provider that is down is logged and skipped', async (t) => {
    const { login, a, b } = await setup(t, open);
    a.down = true;
    const r = await login.passwordLogin('frank', 'frank-ad', IP);
    assert.ok('identity' in r);
    assert.deepEqual([a.calls, b.calls], [['frank'], ['frank']]);
    b.down = true;
    assert.deepEqual(await login.passwordLogin('frank', 'frank-ad', IP), { failed: true });
  });

  test('a provider login mapped onto the name of a local user is refused with a conflict', async (t) => {
    const { dir, login } = await setup(t, open);
    await assert.rejects(
      login.passwordLogin('asmith', 'alice-ldap', IP),
      (e: unknown) =>
        isGantryError(e, 'GANTRY_CONFLICT') && /"alice" through corp-ldap.*source local/.test(e.message),
    );
    assert.equal(dir.getUser('alice')?.source, 'local');
    assert.equal(dir.getUser('asmith'), undefined);
  });

  test('rate limited per account and per address', async (t) => {
    const limiter = new LoginLimiter({ maxFailuresPerUsername: 3, maxFailuresPerAddress: 5 });
    const { login } = await setup(t, open, limiter);
    for (let i = 0; i < 3; i++)
      assert.deepEqual(await login.passwordLogin('alice', 'wrong', { ip: `10.0.0.${i}` }), { failed: true });
    const refused = await login.passwordLogin('alice', 'alice-password', { ip: '10.0.0.9' });
    assert.ok('refused' in refused && refused.retryAfterMs > 0, 'the account is locked from any address');

    // Per address: guesses at different accounts from one address.
    for (const u of ['u1', 'u2', 'u3', 'u4', 'u5'])
      assert.deepEqual(await login.passwordLogin(u, 'x', { ip: '10.9.9.9' }), { failed: true });
    const r = await login.passwordLogin('frank', 'frank-ad', { ip: '10.9.9.9' });
    assert.ok('refused' in r);
    assert.ok('identity' in (await login.passwordLogin('frank', 'frank-ad', { ip: '10.9.9.10' })));
  });
}

describe('LoginService on SQLite', () => {
  suite(sqliteStore);
});

describe('LoginService on PostgreSQL', async () => {
  if (!(await pgAvailable()) && !process.env.CI) {
    test('PostgreSQL', { skip: 'no PostgreSQL on 127.0.0.1:5432' }, () => undefined);
    return;
  }
  suite(postgresStore);
});
