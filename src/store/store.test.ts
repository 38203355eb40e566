import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from './index.js';
import { AppRecords } from '../apps/records.js';
import { testKeyring } from '../secrets/testing.js';
import { Users, ensureKeys } from '../auth/index.js';

const PG = process.env.GANTRY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Creates a fresh Postgres database; returns its URL and a function that drops it. */
async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `gantry_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(PG);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    },
  };
}

function suite(open: () => Promise<Store>): void {
  test('apps, config, releases and tokens round-trip', async () => {
    const store = await open();
    try {
      const records = new AppRecords(store.db, { uidBase: 300000, secrets: testKeyring() });
      const a = await records.create('sales');
      const b = await records.create('hr');
      assert.equal(a.uid, 300000);
      assert.equal(b.uid, 300001);
      await assert.rejects(records.create('sales'), /already exists/);
      await records.replaceConfig(a.id, { B: '2', A: '1' });
      assert.deepEqual(await records.getConfig(a.id), { A: '1', B: '2' });
      const slug = await records.insertSlug({
        appId: a.id,
        commit: 'abc',
        path: '/x',
        manifest: { buildpack: 'static', processes: {}, formation: {}, healthchecks: {}, env: {} },
      });
      assert.equal(await records.nextVersion(a.id), 1);
      await records.insertRelease({
        appId: a.id,
        version: 1,
        slugId: slug.id,
        commit: 'abc',
        description: 'Deploy abc',
        config: { A: '1' },
        buildId: null,
      });
      assert.equal((await records.get('sales')).currentVersion, 1);
      assert.equal(await records.nextVersion(a.id), 2);
      await records.setFormation(a.id, { web: 2 });
      assert.deepEqual((await records.get('sales')).formation, { web: 2 });
      const buildId = await records.createBuild(a.id, 'abc');
      await records.finishBuild(buildId, { status: 'failed', log: 'oops\n', error: 'pip failed' });
      assert.equal((await records.listBuilds(a.id))[0]?.error, 'pip failed');
      await records.destroy(a.id);
      assert.equal(await records.find('sales'), undefined);

      const users = new Users(store.db);
      const boot = await users.bootstrapAdmin();
      assert.ok(boot?.generatedPassword && boot.generatedPassword.length >= 20);
      assert.equal(
        await users.bootstrapAdmin('ignored'),
        undefined,
        'admin is created on the first start only',
      );
      const admin = await users.verifyPassword('admin', boot.generatedPassword);
      assert.equal(admin?.role, 'admin');
      assert.equal(await users.verifyPassword('admin', 'wrong'), undefined);
      assert.equal(await users.verifyPassword('nobody', 'x'), undefined);
    } finally {
      await store.close();
    }
  });
}

describe('sqlite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  suite(() => openStore({ dataDir: dir }));
  test('keys are generated once with mode 0600', async () => {
    const k1 = await ensureKeys(dir);
    const k2 = await ensureKeys(dir);
    assert.deepEqual(k1.secret, k2.secret);
    assert.equal(k1.secret.length, 32);
    assert.equal(statSync(join(dir, 'keys', 'secret.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700);
  });
});

describe('postgres store', async () => {
  const available = await pgAvailable();
  // CI has PostgreSQL running; a developer laptop may not.
  if (!available && !process.env.CI) {
    test('PostgreSQL store', { skip: 'no PostgreSQL on 127.0.0.1:5432' }, () => undefined);
    return;
  }
  let db: { url: string; drop: () => Promise<void> } | undefined;
  before(async () => {
    db = await createPgDatabase();
  });
  after(async () => {
    await db?.drop();
  });
  suite(async () => {
    const store = await openStore({ dataDir: '/nonexistent', databaseUrl: db!.url });
    assert.equal(store.kind, 'postgres');
    return store;
  });
});
