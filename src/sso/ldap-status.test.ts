/** LDAP health: the active check and the outcomes of password logins (LoginService), against a real slapd. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { silentLogger } from '../log/index.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { SqlDirectory } from '../identity/directory.js';
import { LoginService } from '../identity/login.js';
import { sqliteStore, type TestStore } from '../identity/test-stores.js';
import { startSlapd, type Slapd } from '../../test/support/slapd.js';
import { createLdapProvider } from './ldap.js';
import { SsoStatusTracker } from './status.js';
import type { PasswordProvider } from './types.js';

const deps = { logger: silentLogger };

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  return typeof addr === 'object' && addr ? addr.port : 1;
}

describe('LDAP status against a real slapd', () => {
  let slapd: Slapd;
  const common = (): Record<string, unknown> => ({
    type: 'ldap',
    name: 'corp',
    url: slapd.url,
    bindDn: slapd.serviceDn,
    bindPassword: slapd.servicePassword,
    userBase: slapd.userBase,
    groupBase: slapd.groupBase,
  });
  const checked = async (raw: Record<string, unknown>) => {
    const p = await createLdapProvider(raw, deps);
    return new SsoStatusTracker({ providers: [p] }).check('corp');
  };

  before(async () => {
    slapd = await startSlapd({ users: [{ uid: 'alice', password: 'alice-pw-1', mail: 'a@x.test' }] });
  });
  after(async () => {
    await slapd?.close();
  });

  test('binds with the service account and finds userBase', async () => {
    const s = await checked(common());
    assert.equal(s.status, 'ok', s.detail);
    assert.equal(
      s.detail,
      `connected to ${slapd.url}, bound as ${slapd.serviceDn}; userBase ${slapd.userBase} found`,
    );
  });

  test('StartTLS with the directory CA', async () => {
    const s = await checked({ ...common(), startTls: true, tlsCa: slapd.caPem });
    assert.equal(s.status, 'ok', s.detail);
    assert.match(s.detail, /\(StartTLS\), bound as/);
  });

  test('a wrong service password is an error saying so', async () => {
    const s = await checked({ ...common(), bindPassword: 'not-the-password' });
    assert.equal(s.status, 'error');
    assert.match(
      s.detail,
      /^LDAP directory corp: the service account .* was refused: check bindDn and bindPassword/,
    );
  });

  test('a wrong service DN is an error too', async () => {
    const s = await checked({ ...common(), bindDn: `cn=nobody,${slapd.baseDn}` });
    assert.equal(s.status, 'error');
    assert.match(s.detail, /service account cn=nobody,.* was refused/);
  });

  test('anonymous: the bind works but this directory hides userBase from anonymous', async () => {
    const s = await checked({ ...common(), bindDn: undefined, bindPassword: undefined });
    assert.equal(s.status, 'error');
    assert.match(s.detail, /userBase "ou=.*" does not exist \(or is hidden from this account\)/);
  });

  test('anonymous where the directory allows it', async () => {
    const open = await startSlapd({ tls: false, anonymousRead: true });
    try {
      const p = await createLdapProvider(
        { type: 'ldap', name: 'corp', url: open.url, userBase: open.userBase },
        deps,
      );
      const s = await new SsoStatusTracker({ providers: [p] }).check('corp');
      assert.equal(s.status, 'ok', s.detail);
      assert.match(s.detail, /bound anonymously; userBase/);
    } finally {
      await open.close();
    }
  });

  test('a directory that is down is an error naming the URL', async () => {
    const url = `ldap://127.0.0.1:${await closedPort()}`;
    const s = await checked({ ...common(), url, timeoutMs: 500 });
    assert.equal(s.status, 'error');
    assert.equal(s.detail, `LDAP directory corp unreachable: connection to ${url} refused`);
  });

  describe('password logins through LoginService', () => {
    let ts: TestStore;
    let dir: SqlDirectory;
    before(async () => {
      ts = await sqliteStore();
      dir = new SqlDirectory({ db: ts.store.db, logger: silentLogger });
      await dir.load();
    });
    after(async () => {
      await dir?.close();
      await ts?.cleanup();
    });

    const service = (providers: PasswordProvider[], tracker: SsoStatusTracker): LoginService =>
      new LoginService({
        directory: dir,
        limiter: new LoginLimiter(),
        providers,
        logger: silentLogger,
        observer: tracker,
      });

    test('success and a wrong password are counted; only the outage is an error', async () => {
      const corp = await createLdapProvider(common(), deps);
      const down = await createLdapProvider(
        { ...common(), name: 'down', url: `ldap://127.0.0.1:${await closedPort()}`, timeoutMs: 500 },
        deps,
      );
      const tracker = new SsoStatusTracker({ providers: [corp, down] });
      const login = service([corp, down], tracker);
      const ip = { ip: '192.0.2.1' };

      assert.deepEqual(await login.passwordLogin('alice', 'wrong', ip), { failed: true });
      let [c, d] = tracker.list();
      // Both were asked about an unknown user: corp said "wrong password", down could not answer.
      assert.deepEqual(
        [c!.status, c!.logins, c!.failures, c!.lastError],
        ['unknown', 0, 1, 'wrong username or password'],
      );
      assert.deepEqual([d!.status, d!.failures], ['error', 1]);
      assert.match(d!.detail, /^LDAP directory down unreachable: connection to .* refused/);

      const ok = await login.passwordLogin('alice', 'alice-pw-1', ip);
      assert.ok('identity' in ok);
      [c, d] = tracker.list();
      assert.deepEqual([c!.status, c!.logins, c!.failures], ['ok', 1, 1]);
      assert.ok(c!.lastLoginAt);
      assert.equal(d!.failures, 1, 'a known user of corp is not sent to the other provider');

      assert.deepEqual(await login.passwordLogin('alice', 'wrong-again', ip), { failed: true });
      [c] = tracker.list();
      assert.deepEqual([c!.status, c!.failures], ['ok', 2], 'a wrong password does not make it an error');
    });
  });
});
