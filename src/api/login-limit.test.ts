import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../log/index.js';
import { LoginLimiter } from '../auth/rate-limit.js';
import { buildApi } from './index.js';
import { FakePlatform, FAKE_PASSWORD } from './fake-platform.js';
import type { User } from './platform.js';

/** A password check as slow as argon2, so concurrent requests overlap inside it. */
class SlowPlatform extends FakePlatform {
  verified = 0;
  override async verifyPassword(username: string, password: string): Promise<User | undefined> {
    this.verified++;
    await sleep(100);
    return super.verifyPassword(username, password);
  }
}

async function api(extra: { maxLoginFailures?: number; loginLimiter?: LoginLimiter }) {
  const platform = new SlowPlatform();
  const app = await buildApi({
    platform,
    logger: silentLogger,
    version: '0',
    publicUrl: 'http://gantry.test',
    ...extra,
  });
  const login = (password: string, remoteAddress = '10.9.0.1', username = 'admin') =>
    app.inject({ method: 'POST', url: '/api/login', payload: { username, password }, remoteAddress });
  return { app, platform, login };
}

void test('parallel wrong logins beyond the limit get 429, even fired at once', async () => {
  const { app, platform, login } = await api({ maxLoginFailures: 3 });
  try {
    const replies = await Promise.all(Array.from({ length: 12 }, () => login('wrong')));
    const statuses = replies.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [401, 401, 401, ...Array<number>(9).fill(429)]);
    assert.equal(platform.verified, 3, 'refused attempts never reach the password check');
    const limited = replies.find((r) => r.statusCode === 429)!;
    assert.equal(limited.json().error.code, 'GANTRY_TOO_MANY_REQUESTS');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // The right password from the same address is refused too, until the window ends.
    assert.equal((await login(FAKE_PASSWORD)).statusCode, 429);
    assert.equal((await login(FAKE_PASSWORD, '10.9.0.2')).statusCode, 200);
  } finally {
    await app.close();
  }
});

void test('per username: guesses at one account from many addresses are limited', async () => {
  const loginLimiter = new LoginLimiter({ maxFailuresPerAddress: 100, maxFailuresPerUsername: 4 });
  const { app, login } = await api({ loginLimiter });
  try {
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => login('wrong', `10.9.1.${i}`)));
    assert.equal(replies.filter((r) => r.statusCode === 401).length, 4);
    assert.equal(replies.filter((r) => r.statusCode === 429).length, 6);
    // Another user from the same addresses is not affected.
    assert.equal((await login('wrong', '10.9.1.0', 'nobody')).statusCode, 401);
  } finally {
    await app.close();
  }
});
