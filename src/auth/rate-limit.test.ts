import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoginLimiter } from './rate-limit.js';

const slowVerify = (ok: boolean) => async (): Promise<string | undefined> => {
  await sleep(20);
  return ok ? 'alice' : undefined;
};

void test('concurrent attempts are counted before the verify: only `max` get through', async () => {
  const limiter = new LoginLimiter({ maxFailuresPerAddress: 3, maxFailuresPerUsername: 100 });
  let verified = 0;
  const results = await Promise.all(
    Array.from({ length: 20 }, () =>
      limiter.guard({ username: 'alice', address: '10.0.0.1' }, async () => {
        verified++;
        return slowVerify(false)();
      }),
    ),
  );
  assert.equal(verified, 3);
  assert.equal(results.filter((r) => r.refused).length, 17);
  // Once they failed, the wait is the rest of the window, not a short in-flight retry.
  const after = await limiter.guard({ username: 'alice', address: '10.0.0.1' }, slowVerify(true));
  assert.ok(after.refused && after.retryAfterMs > 60_000);
});

void test('per username across addresses, and per address across usernames', async () => {
  const limiter = new LoginLimiter({ maxFailuresPerAddress: 5, maxFailuresPerUsername: 3 });
  for (let i = 0; i < 3; i++)
    assert.equal(
      (await limiter.guard({ username: 'admin', address: `10.0.1.${i}` }, slowVerify(false))).refused,
      false,
    );
  assert.equal(
    (await limiter.guard({ username: 'admin', address: '10.0.1.99' }, slowVerify(true))).refused,
    true,
  );
  for (let i = 0; i < 5; i++)
    await limiter.guard({ username: `user${i}`, address: '10.0.2.1' }, slowVerify(false));
  assert.ok(limiter.retryAfter({ username: 'someone-else', address: '10.0.2.1' }) > 0);
  assert.equal(limiter.retryAfter({ username: 'someone-else', address: '10.0.2.2' }), 0);
});

void test('a success clears the username, not the address; errors count as neither', async () => {
  const limiter = new LoginLimiter({ maxFailuresPerAddress: 4, maxFailuresPerUsername: 2 });
  const who = { username: 'bob', address: '10.0.3.1' };
  await limiter.guard(who, slowVerify(false));
  const ok = await limiter.guard(who, slowVerify(true));
  assert.deepEqual(ok, { refused: false, result: 'alice' });
  await limiter.guard(who, slowVerify(false));
  assert.equal(limiter.retryAfter(who), 0, 'bob has 1 failure since his success');
  await assert.rejects(
    limiter.guard(who, async () => {
      throw new Error('db down');
    }),
    /db down/,
  );
  assert.equal(limiter.retryAfter(who), 0, 'the error released its slot without a failure');
  await limiter.guard({ username: 'carol', address: '10.0.3.1' }, slowVerify(false));
  await limiter.guard({ username: 'dave', address: '10.0.3.1' }, slowVerify(false));
  // Address: 2 (bob) + carol + dave = 4 failures, despite bob's success in between.
  assert.ok(limiter.retryAfter({ username: 'erin', address: '10.0.3.1' }) > 0);
});

void test('the window ends', async () => {
  let now = 1_000_000;
  const limiter = new LoginLimiter({ maxFailuresPerAddress: 1, windowMs: 60_000, now: () => now });
  const who = { username: 'x', address: '10.0.4.1' };
  await limiter.guard(who, slowVerify(false));
  assert.equal(limiter.retryAfter(who), 60_000);
  now += 30_000;
  assert.equal(limiter.retryAfter(who), 30_000);
  now += 30_000;
  assert.equal(limiter.retryAfter(who), 0);
  assert.equal((await limiter.guard(who, slowVerify(true))).refused, false);
});
