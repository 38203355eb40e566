/** Test helpers for src/jobs: a fresh real store (SQLite, or a throwaway PostgreSQL database) with apps in it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { openStore, newId, type Database, type Store } from '../store/index.js';

export const TEST_PG = process.env.GANTRY_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: TEST_PG, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

export type StoreKind = 'sqlite' | 'postgres';

async function open(t: TestContext, kind: StoreKind): Promise<Store> {
  if (kind === 'sqlite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'gantry-jobs-'));
    const store = await openStore({ dataDir });
    t.after(async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    return store;
  }
  const name = `gantry_jobs_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(TEST_PG);
  url.pathname = `/${name}`;
  const store = await openStore({ dataDir: '/nonexistent', databaseUrl: url.toString() });
  t.after(async () => {
    await store.close();
    await admin.query(`drop database ${name} with (force)`);
    await admin.end();
  });
  return store;
}

/** A migrated store, closed (and removed) when the test ends. */
export async function testStore(
  t: TestContext,
  kind: StoreKind = 'sqlite',
): Promise<{ db: Database; createApp: (name: string) => Promise<string> }> {
  const store = await open(t, kind);
  let uid = 500000;
  const createApp = async (name: string): Promise<string> => {
    const id = newId();
    const at = new Date().toISOString();
    await store.db
      .insertInto('apps')
      .values({
        id,
        name,
        uid: uid++,
        formation: '{}',
        current_version: null,
        created_at: at,
        updated_at: at,
        owner_id: null,
        visibility: 'public',
      })
      .execute();
    return id;
  };
  return { db: store.db, createApp };
}
