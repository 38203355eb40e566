/**
 * Username + password login, shared by the login page, POST /api/login and
 * git's basic auth: rate limited per account and per address, the local
 * password first (local users only), then each password provider (LDAP) in
 * order. Every outcome is audited.
 */
import type { Logger } from '../log/index.js';
import type { LoginLimiter } from '../auth/rate-limit.js';
import type { LoginObserver, PasswordProvider } from '../sso/types.js';
import type { Directory, Identity } from './types.js';

export interface LoginServiceOptions {
  directory: Directory;
  limiter: LoginLimiter;
  /** Tried in order after the local password. */
  providers: readonly PasswordProvider[];
  logger: Logger;
  /** Told each password provider's outcome (SsoStatusTracker); local passwords are not reported. */
  observer?: LoginObserver;
}

export type PasswordLoginResult =
  { identity: Identity } | { refused: true; retryAfterMs: number } | { failed: true };

export class LoginService {
  readonly #directory: Directory;
  readonly #limiter: LoginLimiter;
  readonly #providers: readonly PasswordProvider[];
  readonly #logger: Logger;
  readonly #observer: LoginObserver | undefined;

  constructor(opts: LoginServiceOptions) {
    this.#directory = opts.directory;
    this.#limiter = opts.limiter;
    this.#providers = opts.providers;
    this.#logger = opts.logger;
    this.#observer = opts.observer;
  }

  /**
   * Checks a username and password. `refused` means rate limited (say when to
   * retry, as 429); `failed` means wrong credentials or unknown user (never
   * which). Throws GANTRY_CONFLICT when a provider accepts the password but
   * its user collides with an existing user of another source.
   */
  async passwordLogin(
    username: string,
    password: string,
    opts: { ip: string | null },
  ): Promise<PasswordLoginResult> {
    const guarded = await this.#limiter.guard({ username, address: opts.ip ?? '' }, () =>
      this.#check(username, password),
    );
    if (guarded.refused) return { refused: true, retryAfterMs: guarded.retryAfterMs };
    const ok = guarded.result;
    if (!ok) {
      await this.#directory.audit({ username: null, ip: opts.ip }, 'login.failed', null, { username });
      return { failed: true };
    }
    await this.#directory.audit(
      { username: ok.identity.username, ip: opts.ip },
      'login',
      `user:${ok.identity.username}`,
      { via: ok.via },
    );
    return { identity: ok.identity };
  }

  async #check(username: string, password: string): Promise<{ identity: Identity; via: string } | undefined> {
    // Always runs one argon2 verify (a dummy one for non-local or unknown users): same timing either way.
    const local = await this.#directory.verifyPassword(username, password);
    if (local) return { identity: local, via: 'password' };
    const user = this.#directory.getUser(username);
    if (user?.source === 'local' || password === '') return undefined;
    // A known SSO user signs in only through their own provider; an unknown name tries them all.
    const providers = user ? this.#providers.filter((p) => p.name === user.source) : this.#providers;
    // Providers that said "wrong credentials": counted only when no other provider knew the user.
    const refused: string[] = [];
    for (const p of providers) {
      let ext;
      try {
        ext = await p.authenticate(username, password);
      } catch (err) {
        this.#logger.warn({ err, provider: p.name, username }, 'password provider failed; trying the next');
        this.#observer?.loginFailed(p.name, err instanceof Error ? err.message : String(err), {
          providerFault: true,
        });
        continue;
      }
      if (!ext) {
        refused.push(p.name);
        continue;
      }
      const identity = await this.#directory.upsertExternalUser({ ...ext, provider: p.name }, p.defaultRole);
      this.#observer?.loginSucceeded(p.name);
      return { identity, via: p.name };
    }
    for (const name of refused)
      this.#observer?.loginFailed(name, 'wrong username or password', { providerFault: false });
    return undefined;
  }
}
