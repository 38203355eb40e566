/**
 * Re-encryption of stored secrets (config vars and release snapshots) under the current
 * master key, and master key rotation built on it.
 */
import { sql } from 'kysely';
import type { Database } from '../store/index.js';
import { GantryError } from '../errors/index.js';
import { configVarAad, releaseConfigAad } from './aad.js';
import { isEncrypted, type Keyring } from './keyring.js';

/** `gk1:<8 hex>:` */
const PREFIX_LENGTH = 13;

/**
 * Re-encrypts every config var and release snapshot not yet under the current key (older keys,
 * or plaintext rows from before encryption) in one transaction; returns how many rows changed.
 * Cheap when nothing is stale: the database skips rows already under the current key. Each
 * update only applies if the row still holds the value that was read, so a concurrent write
 * (already under the current key) is never overwritten.
 */
export async function reencryptAll(db: Database, keyring: Keyring): Promise<number> {
  const prefix = `gk1:${keyring.currentKeyId}:`;
  const stale = (column: 'value' | 'config') =>
    sql<boolean>`substr(${sql.ref(column)}, 1, ${sql.lit(PREFIX_LENGTH)}) <> ${prefix}`;
  return db.transaction().execute(async (tx) => {
    let changed = 0;
    const vars = await tx
      .selectFrom('config_vars')
      .select(['app_id', 'key', 'value'])
      .where(stale('value'))
      .execute();
    for (const v of vars) {
      const aad = configVarAad(v.app_id, v.key);
      const plain = isEncrypted(v.value) ? keyring.decrypt(v.value, aad) : v.value;
      const r = await tx
        .updateTable('config_vars')
        .set({ value: keyring.encrypt(plain, aad) })
        .where('app_id', '=', v.app_id)
        .where('key', '=', v.key)
        .where('value', '=', v.value)
        .executeTakeFirst();
      changed += Number(r.numUpdatedRows);
    }
    const releases = await tx
      .selectFrom('releases')
      .select(['id', 'config'])
      .where(stale('config'))
      .execute();
    for (const rel of releases) {
      const aad = releaseConfigAad(rel.id);
      const plain = isEncrypted(rel.config) ? keyring.decrypt(rel.config, aad) : rel.config;
      const r = await tx
        .updateTable('releases')
        .set({ config: keyring.encrypt(plain, aad) })
        .where('id', '=', rel.id)
        .where('config', '=', rel.config)
        .executeTakeFirst();
      changed += Number(r.numUpdatedRows);
    }
    return changed;
  });
}

/** Ids of the keys that stored values are encrypted with (`plaintext` if any row is not encrypted). */
export async function keyIdsInUse(db: Database): Promise<Set<string>> {
  const head = (column: 'value' | 'config') =>
    sql<string>`substr(${sql.ref(column)}, 1, ${sql.lit(PREFIX_LENGTH)})`.as('head');
  const vars = await db.selectFrom('config_vars').select(head('value')).distinct().execute();
  const rels = await db.selectFrom('releases').select(head('config')).distinct().execute();
  return new Set([...vars, ...rels].map((r) => /^gk1:([0-9a-f]{8}):$/.exec(r.head)?.[1] ?? 'plaintext'));
}

export interface RotationResult {
  /** The key everything is now encrypted with. */
  keyId: string;
  /** Rows re-encrypted. */
  reencrypted: number;
  /** Previous keys no longer needed: removed from the key file (file mode) or safe to remove from GANTRY_PREVIOUS_MASTER_KEYS (env mode). */
  retiredKeyIds: string[];
}

const rotating = new WeakSet<Keyring>();

/**
 * Rotates the master key. With a generated key file: a new key becomes current, everything is
 * re-encrypted under it, then old keys nothing uses any more are removed from the file. With
 * GANTRY_MASTER_KEY, Gantry cannot pick the key: the operator sets the new key and lists the
 * old one in GANTRY_PREVIOUS_MASTER_KEYS, restarts, and this re-encrypts everything and says
 * which previous keys can go; without a previous key it is refused with those instructions.
 * One rotation at a time per keyring (GANTRY_CONFLICT otherwise).
 */
export async function rotateMasterKey(opts: { db: Database; keyring: Keyring }): Promise<RotationResult> {
  const { db, keyring } = opts;
  if (rotating.has(keyring))
    throw new GantryError('GANTRY_CONFLICT', 'a master key rotation is already running');
  rotating.add(keyring);
  try {
    if (keyring.source === 'file') await keyring.rotate();
    else if (keyring.previousKeyIds.length === 0) await keyring.rotate(); // throws the instructions
    const reencrypted = await reencryptAll(db, keyring);
    const retiredKeyIds = await keyring.dropPreviousKeys(await keyIdsInUse(db));
    return { keyId: keyring.currentKeyId, reencrypted, retiredKeyIds };
  } finally {
    rotating.delete(keyring);
  }
}
