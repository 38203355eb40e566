/**
 * Database access: Kysely over better-sqlite3 (embedded default, WAL) or pg
 * (GANTRY_DATABASE_URL). Same queries on both.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  Kysely,
  Migrator,
  SqliteDialect,
  PostgresDialect,
  type MigrationProvider,
  type Migration,
} from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { DB } from './schema.js';
import { migrations } from './migrations.js';
import { GantryError } from '../errors/index.js';

export type { DB } from './schema.js';
export type Database = Kysely<DB>;

export interface Store {
  db: Database;
  kind: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string;
}

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  let db: Database;
  let kind: Store['kind'];
  if (opts.databaseUrl) {
    kind = 'postgres';
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
    // An idle client whose connection the server ends (restart, failover, admin kill) emits 'error'
    // on the pool; unhandled, that would crash Gantry. The pool drops the client and reconnects.
    pool.on('error', () => undefined);
    db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  } else {
    kind = 'sqlite';
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const sqlite = new SQLite(join(opts.dataDir, 'gantry.db'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // Freed pages are zeroed: re-encrypted config values leave no plaintext behind in the file.
    sqlite.pragma('secure_delete = ON');
    db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw new GantryError('GANTRY_INTERNAL', `database migration failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { db, kind, close: () => db.destroy() };
}

export const newId = (): string => randomUUID();
export const now = (): string => new Date().toISOString();
