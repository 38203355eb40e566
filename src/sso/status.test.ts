import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GantryError, isGantryError } from '../errors/index.js';
import type { ExternalIdentity, Role } from '../identity/types.js';
import { SsoStatusTracker } from './status.js';
import type { PasswordProvider, Provider } from './types.js';

/** A provider whose check does what the test says; counts how often it ran. */
class FakeProvider implements PasswordProvider {
  readonly type = 'ldap' as const;
  readonly defaultRole: Role = 'developer';
  checks = 0;
  constructor(
    readonly name: string,
    readonly label: string,
    public checkWith: () => Promise<string> = async () => 'all good',
  ) {}
  async authenticate(): Promise<ExternalIdentity | undefined> {
    return undefined;
  }
  check(): Promise<string> {
    this.checks += 1;
    return this.checkWith();
  }
  async close(): Promise<void> {}
}

const T0 = Date.parse('2030-01-02T03:04:05.000Z');

function setup(providers: Provider[], timeoutMs?: number): { tracker: SsoStatusTracker; tick: () => void } {
  let now = T0;
  const tracker = new SsoStatusTracker({ providers, now: () => now, checkTimeoutMs: timeoutMs });
  return { tracker, tick: () => (now += 1000) };
}

const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

describe('SsoStatusTracker', () => {
  test('lists every provider in configured order, unknown at first', () => {
    const { tracker } = setup([new FakeProvider('corp', 'Corp'), new FakeProvider('ad', 'AD')]);
    const list = tracker.list();
    assert.deepEqual(
      list.map((s) => s.name),
      ['corp', 'ad'],
    );
    assert.deepEqual(list[0], {
      name: 'corp',
      type: 'ldap',
      label: 'Corp',
      defaultRole: 'developer',
      status: 'unknown',
      detail: 'not checked yet; no sign-ins since the server started',
      checkedAt: null,
      logins: 0,
      failures: 0,
      lastLoginAt: null,
      lastFailureAt: null,
      lastError: null,
    });
  });

  test('counts logins and failures with their times; a wrong password does not make it an error', () => {
    const { tracker, tick } = setup([new FakeProvider('corp', 'Corp'), new FakeProvider('ad', 'AD')]);
    tracker.loginSucceeded('corp');
    tick();
    tracker.loginSucceeded('corp');
    tick();
    tracker.loginFailed('corp', 'wrong username or password', { providerFault: false });
    const corp = tracker.list()[0]!;
    assert.deepEqual(
      [corp.status, corp.logins, corp.failures, corp.lastLoginAt, corp.lastFailureAt, corp.lastError],
      ['ok', 2, 1, at(1), at(2), 'wrong username or password'],
    );
    assert.match(corp.detail, /sign-in succeeded/);
    const ad = tracker.list()[1]!;
    assert.deepEqual([ad.status, ad.logins, ad.failures], ['unknown', 0, 0], 'other providers untouched');

    // A user mistake on a provider never seen working leaves it unknown.
    tracker.loginFailed('ad', 'wrong username or password', { providerFault: false });
    assert.equal(tracker.list()[1]!.status, 'unknown');
  });

  test("the provider's fault makes it an error until the next success (the latest evidence wins)", () => {
    const { tracker, tick } = setup([new FakeProvider('corp', 'Corp')]);
    tracker.loginSucceeded('corp');
    tick();
    tracker.loginFailed('corp', 'LDAP directory corp unreachable: connection refused');
    let s = tracker.list()[0]!;
    assert.deepEqual(
      [s.status, s.detail, s.lastError, s.failures],
      ['error', 'LDAP directory corp unreachable: connection refused', s.detail, 1],
    );
    tick();
    tracker.loginFailed('corp', 'wrong username or password', { providerFault: false });
    s = tracker.list()[0]!;
    assert.equal(s.status, 'error', 'a user mistake does not clear the error');
    assert.equal(s.detail, 'LDAP directory corp unreachable: connection refused');
    tracker.loginSucceeded('corp');
    assert.equal(tracker.list()[0]!.status, 'ok');
  });

  test('names not configured are ignored by the counters and refused by check', async () => {
    const { tracker } = setup([new FakeProvider('corp', 'Corp')]);
    tracker.loginSucceeded('nope');
    tracker.loginFailed('nope', 'x');
    assert.deepEqual(
      tracker.list().map((s) => s.name),
      ['corp'],
    );
    await assert.rejects(
      tracker.check('nope'),
      (e: unknown) => isGantryError(e, 'GANTRY_NOT_FOUND') && /"nope"/.test(e.message),
    );
  });

  test('an active check sets status, detail and checkedAt; a failed check resolves with an error status', async () => {
    const p = new FakeProvider('corp', 'Corp', async () => 'connected to ldap://x, bound anonymously');
    const { tracker, tick } = setup([p]);
    tick();
    const ok = await tracker.check('corp');
    assert.deepEqual(
      [ok.status, ok.detail, ok.checkedAt],
      ['ok', 'connected to ldap://x, bound anonymously', at(1)],
    );
    assert.deepEqual(tracker.list()[0], ok);

    p.checkWith = async () => {
      throw new GantryError('GANTRY_INTERNAL', 'LDAP directory corp: the service account was refused');
    };
    tick();
    const bad = await tracker.check('corp');
    assert.deepEqual(
      [bad.status, bad.detail, bad.checkedAt, bad.failures, bad.lastError],
      ['error', 'LDAP directory corp: the service account was refused', at(2), 0, null],
      'a check is not a sign-in: counters and lastError stay',
    );
    tracker.loginSucceeded('corp');
    assert.equal(tracker.list()[0]!.status, 'ok', 'a later sign-in overrides an older check');
    assert.equal(tracker.list()[0]!.checkedAt, at(2));
  });

  test('a check that hangs is cut off by the timeout with a clear message', async () => {
    const p = new FakeProvider('corp', 'Corp LDAP', () => new Promise<string>(() => undefined));
    const { tracker } = setup([p], 100);
    const t0 = Date.now();
    const s = await tracker.check('corp');
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(s.status, 'error');
    assert.match(s.detail, /no answer from "Corp LDAP" within 0\.1 s/);
  });

  test('concurrent checks of one provider share one run', async () => {
    let release!: (v: string) => void;
    const p = new FakeProvider('corp', 'Corp', () => new Promise<string>((r) => (release = r)));
    const { tracker } = setup([p]);
    const a = tracker.check('corp');
    const b = tracker.check('corp');
    release('fine');
    assert.deepEqual(await a, await b);
    assert.equal(p.checks, 1);
    const c = tracker.check('corp');
    release('again');
    assert.equal((await c).detail, 'again', 'a finished check does not block the next');
    assert.equal(p.checks, 2);
  });

  test('a provider without a check is GANTRY_UNSUPPORTED; long errors are shortened', async () => {
    const bare: PasswordProvider = {
      type: 'ldap',
      name: 'bare',
      label: 'Bare',
      defaultRole: 'viewer',
      authenticate: async () => undefined,
      close: async () => undefined,
    };
    const { tracker } = setup([bare]);
    await assert.rejects(tracker.check('bare'), (e: unknown) => isGantryError(e, 'GANTRY_UNSUPPORTED'));
    tracker.loginFailed('bare', 'x'.repeat(5000));
    assert.ok(tracker.list()[0]!.lastError!.length <= 500);
  });
});
