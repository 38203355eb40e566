import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../log/index.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { buildApi } from './index.js';
import { FakePlatform, FAKE_PASSWORD } from './fake-platform.js';
import { testIdentity } from './testing.js';

async function api(limiter: LoginLimiter) {
  const identity = await testIdentity({ limiter });
  // Count what reaches the (argon2, slow) password check.
  let verified = 0;
  const verify = identity.directory.verifyPassword.bind(identity.directory);
  identity.directory.verifyPassword = (u, p) => {
    verified++;
    return verify(u, p);
  };
  const app = await buildApi({
    platform: new FakePlatform({ records: identity.records }),
    ...identity.options,
    logger: silentLogger,
    version: '0',
    publicUrl: 'http://gantry.test',
  });
  const login = (password: string, remoteAddress = '10.9.0.1', username = 'admin') =>
    app.inject({ method: 'POST', url: '/api/login', payload: { username, password }, remoteAddress });
  return {
    app,
    login,
    verified: () => verified,
    close: async () => {
      await app.close();
      await identity.close();
    },
  };
}

void test('parallel wrong logins beyond the limit get 429, even fired at once', async () => {
  const t = await api(new LoginLimiter({ maxFailuresPerAddress: 3, maxFailuresPerUsername: 6 }));
  try {
    const replies = await Promise.all(Array.from({ length: 12 }, () => t.login('wrong')));
    const statuses = replies.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [401, 401, 401, ...Array<number>(9).fill(429)]);
    assert.equal(t.verified(), 3, 'refused attempts never reach the password check');
    const limited = replies.find((r) => r.statusCode === 429)!;
    assert.equal(limited.json().error.code, 'GANTRY_TOO_MANY_REQUESTS');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // The right password from the same address is refused too, until the window ends.
    assert.equal((await t.login(FAKE_PASSWORD)).statusCode, 429);
    assert.equal((await t.login(FAKE_PASSWORD, '10.9.0.2')).statusCode, 200);
  } finally {
    await t.close();
  }
});

void test('per username: guesses at one account from many addresses are limited', async () => {
  const t = await api(new LoginLimiter({ maxFailuresPerAddress: 100, maxFailuresPerUsername: 4 }));
  try {
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => t.login('wrong', `10.9.1.${i}`)));
    assert.equal(replies.filter((r) => r.statusCode === 401).length, 4);
    assert.equal(replies.filter((r) => r.statusCode === 429).length, 6);
    // Another user from the same addresses is not affected.
    assert.equal((await t.login('wrong', '10.9.1.0', 'nobody')).statusCode, 401);
  } finally {
    await t.close();
  }
});
