/**
 * Users and API tokens. Passwords are argon2id hashes; tokens are stored as
 * sha256 hashes and shown once.
 */
import type { Database } from '../store/index.js';
import { newId, now } from '../store/index.js';
import type { User } from '../api/platform.js';
import { hashPassword, verifyPassword, newToken, hashToken, randomPassword } from './passwords.js';

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

  async createToken(user: User, name: string, expiresAt?: Date): Promise<string> {
    const token = newToken();
    await this.#db
      .insertInto('api_tokens')
      .values({
        id: newId(),
        user_id: user.id,
        name,
        token_hash: hashToken(token),
        created_at: now(),
        last_used_at: null,
        expires_at: expiresAt?.toISOString() ?? null,
        scope: 'full',
      })
      .execute();
    return token;
  }

  async authenticateToken(token: string): Promise<User | undefined> {
    if (!token.startsWith('gty_') || token.length > 200) return undefined;
    const row = await this.#db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'users.id',
        'users.username',
        'users.role',
        'users.email',
        'api_tokens.expires_at',
        'api_tokens.id as token_id',
        'api_tokens.last_used_at',
      ])
      .where('api_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.expires_at && new Date(row.expires_at).getTime() < Date.now()) return undefined;
    // Record use at most once a minute: no write per request.
    if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
      await this.#db
        .updateTable('api_tokens')
        .set({ last_used_at: now() })
        .where('id', '=', row.token_id)
        .execute();
    }
    return toUser(row);
  }
}

/** argon2id hash of a random string, used to equalise timing for unknown users. */
const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$mskkiWrbBBTo5e9v9PFlDw$+IoBGpKzuPuelDg9aWXGyT0TuTeGZZ/aIcrHcAox3p4';
