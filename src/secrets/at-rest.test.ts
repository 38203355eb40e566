/**
 * Config vars at rest, against the real stores: a canary value set through AppRecords must not
 * appear in the SQLite files or in any Postgres row; legacy plaintext rows are re-encrypted;
 * rotation re-encrypts everything and retires the old key.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { openStore, newId, now, type Store } from '../store/index.js';
import { AppRecords } from '../apps/records.js';
import { isGantryError } from '../errors/index.js';
import { Keyring, generateMasterKey, keyIdOf, reencryptAll, rotateMasterKey } from './index.js';

const PG = process.env.GANTRY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gantry-secrets-'));
  dirs.push(d);
  return d;
}

const canary = (): string => `CANARY-${randomBytes(12).toString('hex')}`;

interface TestStore extends Store {
  /** Every byte the store keeps (SQLite files, or every row of every Postgres table) as text. */
  raw(): Promise<string>;
}

/** Opens a fresh, empty store; close() also removes it. */
type Backend = () => Promise<TestStore>;

async function stored(store: Store): Promise<{ vars: string[]; releases: string[] }> {
  const vars = await store.db.selectFrom('config_vars').select('value').execute();
  const releases = await store.db.selectFrom('releases').select('config').execute();
  return { vars: vars.map((r) => r.value), releases: releases.map((r) => r.config) };
}

async function release(records: AppRecords, appId: string, config: Record<string, string>): Promise<void> {
  await records.insertRelease({
    appId,
    version: await records.nextVersion(appId),
    slugId: null,
    commit: 'abc',
    description: 'Deploy abc',
    config,
    buildId: null,
  });
}

function suite(backend: Backend): void {
  test('a canary config value never reaches the store in plaintext', async () => {
    const store = await backend();
    try {
      const records = new AppRecords(store.db, {
        uidBase: 300000,
        secrets: await Keyring.open({ dataDir: tempDir() }),
      });
      const secret = canary();
      const appName = `canaryapp${randomBytes(3).toString('hex')}`;
      const app = await records.create(appName);
      await records.replaceConfig(app.id, { DATABASE_URL: secret, PLAIN: 'x' });
      await release(records, app.id, { DATABASE_URL: secret });
      // Replaced values go through the same path.
      await records.replaceConfig(app.id, { DATABASE_URL: secret, OTHER: `${secret}-2` });
      await release(records, app.id, { DATABASE_URL: secret, OTHER: `${secret}-2` });

      assert.deepEqual(await records.getConfig(app.id), { DATABASE_URL: secret, OTHER: `${secret}-2` });
      const [v2, v1] = await records.listReleases(app.id);
      assert.deepEqual(v1?.config, { DATABASE_URL: secret });
      assert.deepEqual((await records.getRelease(app.id, 2)).config, {
        DATABASE_URL: secret,
        OTHER: `${secret}-2`,
      });
      assert.equal(v2?.version, 2);

      const raw = await store.raw();
      assert.ok(raw.includes(appName), 'control: the scan sees what the store holds');
      assert.ok(raw.includes('DATABASE_URL'), 'control: key names are stored as they are');
      assert.ok(!raw.includes(secret), 'the canary value is not stored in plaintext');
      assert.ok(
        !raw.includes(Buffer.from(secret).toString('base64').slice(0, 24)),
        'nor merely base64-encoded',
      );
      const rows = await stored(store);
      assert.ok([...rows.vars, ...rows.releases].every((v) => v.startsWith('gk1:')));
    } finally {
      await store.close();
    }
  });

  test('a value copied to another row does not decrypt, and the error does not carry it', async () => {
    const store = await backend();
    try {
      const records = new AppRecords(store.db, {
        uidBase: 300000,
        secrets: Keyring.fromKey(generateMasterKey()),
      });
      const secret = canary();
      const a = await records.create(`a${randomBytes(3).toString('hex')}`);
      const b = await records.create(`b${randomBytes(3).toString('hex')}`);
      await records.replaceConfig(a.id, { TOKEN: secret });
      await records.replaceConfig(b.id, { TOKEN: 'mine' });
      const { value } = await store.db
        .selectFrom('config_vars')
        .select('value')
        .where('app_id', '=', a.id)
        .executeTakeFirstOrThrow();
      await store.db.updateTable('config_vars').set({ value }).where('app_id', '=', b.id).execute();
      await assert.rejects(
        records.getConfig(b.id),
        (e) =>
          isGantryError(e, 'GANTRY_INTERNAL') &&
          /authentication failed/.test(e.message) &&
          !e.message.includes(secret),
      );
      assert.deepEqual(await records.getConfig(a.id), { TOKEN: secret });
    } finally {
      await store.close();
    }
  });

  test('plaintext rows from before encryption are read, then re-encrypted once', async () => {
    const store = await backend();
    try {
      const keyring = Keyring.fromKey(generateMasterKey());
      const records = new AppRecords(store.db, { uidBase: 300000, secrets: keyring });
      const secret = canary();
      const app = await records.create(`legacy${randomBytes(3).toString('hex')}`);
      await store.db
        .insertInto('config_vars')
        .values({ app_id: app.id, key: 'OLD', value: secret })
        .execute();
      await store.db
        .insertInto('releases')
        .values({
          id: newId(),
          app_id: app.id,
          version: 1,
          slug_id: null,
          commit_sha: null,
          description: 'before encryption',
          config: JSON.stringify({ OLD: secret }),
          build_id: null,
          created_at: now(),
        })
        .execute();
      assert.deepEqual(await records.getConfig(app.id), { OLD: secret });
      assert.deepEqual((await records.getRelease(app.id, 1)).config, { OLD: secret });

      assert.equal(await reencryptAll(store.db, keyring), 2);
      const rows = await stored(store);
      assert.ok([...rows.vars, ...rows.releases].every((v) => keyIdOf(v) === keyring.currentKeyId));
      assert.ok(!JSON.stringify(rows).includes(secret));
      assert.deepEqual(await records.getConfig(app.id), { OLD: secret });
      assert.deepEqual((await records.getRelease(app.id, 1)).config, { OLD: secret });
      assert.equal(await reencryptAll(store.db, keyring), 0, 'nothing stale the second time');
    } finally {
      await store.close();
    }
  });

  test('rotation re-encrypts everything under a new key and drops the old one', async () => {
    const store = await backend();
    const dataDir = tempDir();
    try {
      const keyring = await Keyring.open({ dataDir });
      const records = new AppRecords(store.db, { uidBase: 300000, secrets: keyring });
      const expected = new Map<string, Record<string, string>>();
      for (let i = 0; i < 3; i++) {
        const app = await records.create(`rot${i}${randomBytes(3).toString('hex')}`);
        const vars = { A: canary(), B: canary() };
        await records.replaceConfig(app.id, vars);
        await release(records, app.id, vars);
        expected.set(app.id, vars);
      }
      const oldId = keyring.currentKeyId;
      const before = await stored(store);

      const result = await rotateMasterKey({ db: store.db, keyring });
      assert.notEqual(result.keyId, oldId);
      assert.equal(result.reencrypted, 3 * 2 + 3);
      assert.deepEqual(result.retiredKeyIds, [oldId]);
      assert.deepEqual(keyring.previousKeyIds, []);

      const after = await stored(store);
      assert.ok([...after.vars, ...after.releases].every((v) => keyIdOf(v) === result.keyId));
      const file = JSON.parse(readFileSync(join(dataDir, 'keys', 'master.key'), 'utf8')) as {
        current: { id: string };
        previous: unknown[];
      };
      assert.equal(file.current.id, result.keyId);
      assert.deepEqual(file.previous, [], 'the old key is gone from the key file');

      // A restart reads everything with the rotated key file alone; old ciphertexts are now dead.
      const reopened = new AppRecords(store.db, {
        uidBase: 300000,
        secrets: await Keyring.open({ dataDir }),
      });
      for (const [appId, vars] of expected) {
        assert.deepEqual(await reopened.getConfig(appId), vars);
        assert.deepEqual((await reopened.listReleases(appId))[0]?.config, vars);
      }
      assert.throws(
        () => keyring.decrypt(before.vars[0]!, 'config:any:A'),
        new RegExp(`key ${oldId} which is not available`),
      );
    } finally {
      await store.close();
    }
  });

  test('with GANTRY_MASTER_KEY: rotation is refused until a new key is set, then re-encrypts', async () => {
    const store = await backend();
    try {
      const dataDir = tempDir();
      const oldKey = generateMasterKey();
      const oldRing = await Keyring.open({ dataDir, masterKey: oldKey });
      const app = await new AppRecords(store.db, { uidBase: 300000, secrets: oldRing }).create(
        `env${randomBytes(3).toString('hex')}`,
      );
      const secret = canary();
      await new AppRecords(store.db, { uidBase: 300000, secrets: oldRing }).replaceConfig(app.id, {
        K: secret,
      });
      await assert.rejects(
        rotateMasterKey({ db: store.db, keyring: oldRing }),
        (e) => isGantryError(e, 'GANTRY_CONFLICT') && /GANTRY_PREVIOUS_MASTER_KEYS/.test(e.message),
      );

      // Without the old key the value is unreadable, and startup says what to do.
      const lost = await Keyring.open({ dataDir, masterKey: generateMasterKey() });
      await assert.rejects(reencryptAll(store.db, lost), /GANTRY_PREVIOUS_MASTER_KEYS/);

      const newKey = generateMasterKey();
      const newRing = await Keyring.open({ dataDir, masterKey: newKey, previousKeys: [oldKey] });
      const result = await rotateMasterKey({ db: store.db, keyring: newRing });
      assert.equal(result.reencrypted, 1);
      assert.deepEqual(result.retiredKeyIds, [oldRing.currentKeyId]);
      // The old key can now leave GANTRY_PREVIOUS_MASTER_KEYS: the new key alone reads everything.
      const alone = new AppRecords(store.db, { uidBase: 300000, secrets: Keyring.fromKey(newKey) });
      assert.deepEqual(await alone.getConfig(app.id), { K: secret });
    } finally {
      await store.close();
    }
  });
}

describe('sqlite', () => {
  suite(async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    const files = (): Buffer[] =>
      ['gantry.db', 'gantry.db-wal']
        .filter((f) => existsSync(join(dir, f)))
        .map((f) => readFileSync(join(dir, f)));
    return {
      ...store,
      // The WAL first (recent writes), then again after a checkpoint moved them into gantry.db.
      raw: async () => {
        const beforeCheckpoint = files();
        await sql`pragma wal_checkpoint(FULL)`.execute(store.db);
        return Buffer.concat([...beforeCheckpoint, ...files()]).toString('latin1');
      },
    };
  });
});

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

/** Every row of every table in the database, as JSON text. */
async function allRows(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ t: string }>(
      `select quote_ident(table_name) as t from information_schema.tables where table_schema = 'public'`,
    );
    const parts: string[] = [];
    for (const { t } of tables.rows) {
      const rows = await c.query<{ j: string }>(`select row_to_json(x)::text as j from ${t} x`);
      parts.push(...rows.rows.map((r) => r.j));
    }
    return parts.join('\n');
  } finally {
    await c.end();
  }
}

describe('postgres', async () => {
  if (!(await pgAvailable()) && !process.env.CI) {
    test('PostgreSQL', { skip: 'no PostgreSQL on 127.0.0.1:5432' }, () => undefined);
    return;
  }
  // One throwaway database; each test starts from empty app tables.
  const name = `gantry_test_${randomBytes(4).toString('hex')}`;
  const url = new URL(PG);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: PG });
  before(async () => {
    await admin.connect();
    await admin.query(`create database ${name}`);
  });
  after(async () => {
    // pg's pool.end() resolves before its sockets close; a forced drop would kill them mid-close
    // (an uncaught 'terminating connection' error), so wait until the last session has gone.
    for (let i = 0; ; i++) {
      try {
        await admin.query(`drop database ${name}`);
        break;
      } catch (e) {
        if (i >= 100 || !/being accessed by other users/.test((e as Error).message)) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await admin.end();
  });
  suite(async () => {
    const store = await openStore({ dataDir: '/nonexistent', databaseUrl: url.toString() });
    await sql`truncate config_vars, releases, builds, slugs, apps cascade`.execute(store.db);
    return { ...store, raw: () => allRows(url.toString()) };
  });
});
