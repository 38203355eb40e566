/**
 * The first admin and password checks against the users table (argon2id).
 * Everything else about users, tokens and sessions is in src/identity.
 */
import type { Database } from '../store/index.js';
import { newId, now } from '../store/index.js';
import type { User } from '../api/platform.js';
import { hashPassword, verifyPassword, randomPassword, DUMMY_HASH } from './passwords.js';

export { hashPassword, verifyPassword, newToken, hashToken, randomPassword, safeEqual } from './passwords.js';
export { ensureKeys, type ServerKeys } from './keys.js';

type UserRow = { id: string; username: string; role: string; email: string | null };
const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  role: r.role as User['role'],
  email: r.email,
});

export class Users {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Creates the admin on the very first start. Returns the generated password
   * when none was given (the caller prints it once), else undefined.
   */
  async bootstrapAdmin(password?: string): Promise<{ generatedPassword?: string } | undefined> {
    const any = await this.#db.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (any) return undefined;
    const pw = password ?? randomPassword();
    await this.#db
      .insertInto('users')
      .values({
        id: newId(),
        username: 'admin',
        password_hash: await hashPassword(pw),
        role: 'admin',
        email: null,
        created_at: now(),
        source: 'local',
      })
      .execute();
    return { generatedPassword: password ? undefined : pw };
  }

  async verifyPassword(username: string, password: string): Promise<User | undefined> {
    const row = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    // Verify against a dummy hash when the user is unknown so timing doesn't reveal which usernames exist.
    const ok = await verifyPassword(row?.password_hash ?? DUMMY_HASH, password);
    return row && ok ? toUser(row) : undefined;
  }
}
