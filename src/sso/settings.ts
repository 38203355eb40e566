/**
 * Reading one provider's settings out of `authProviders`, with errors that
 * name the provider and the field, and the rules every provider applies to
 * what an identity provider reports (usernames, group names).
 */
import { GantryError } from '../errors/index.js';
import { ROLES, type Role } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import type { Provider } from './types.js';

/** What every provider factory is given besides its own settings. */
export interface ProviderDeps {
  /** Public base URL of this server, without a trailing slash. */
  publicUrl: string;
  logger: Logger;
}

/** Builds one provider from its settings object; throws GANTRY_INVALID_CONFIG when they are wrong. */
export type ProviderFactory = (raw: Record<string, unknown>, deps: ProviderDeps) => Promise<Provider>;

/** Same rule as user and group names elsewhere (see parsePrincipal). */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const PROVIDER_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** Typed access to one provider's settings; every error says which provider and which field. */
export class SettingsReader {
  readonly #raw: Record<string, unknown>;
  readonly #where: string;

  constructor(raw: Record<string, unknown>, type: string, known: readonly string[]) {
    this.#raw = raw;
    const name = typeof raw.name === 'string' ? raw.name : '?';
    this.#where = `authProviders: ${type} provider "${name}"`;
    const all = new Set(['type', 'name', 'label', 'defaultRole', ...known]);
    for (const key of Object.keys(raw)) {
      if (!all.has(key))
        throw this.fail(key, `is not a known setting (known: ${[...all].sort().join(', ')})`);
    }
  }

  fail(field: string, problem: string): GantryError {
    return new GantryError('GANTRY_INVALID_CONFIG', `${this.#where}: "${field}" ${problem}`);
  }

  /** The provider name: lowercase letters, digits and dashes (it appears in URLs). */
  name(): string {
    const v = this.string('name');
    if (!PROVIDER_NAME_RE.test(v))
      throw this.fail('name', 'must be lowercase letters, digits and dashes (at most 40), e.g. "okta"');
    return v;
  }

  string(field: string): string {
    const v = this.optString(field);
    if (v === undefined) throw this.fail(field, 'is required');
    return v;
  }

  optString(field: string): string | undefined {
    const v = this.#raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.trim() === '') throw this.fail(field, 'must be a non-empty string');
    return v.trim();
  }

  optBool(field: string): boolean | undefined {
    const v = this.#raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw this.fail(field, 'must be true or false');
    return v;
  }

  /** A list of strings, also accepted as one space-separated string. */
  optStringList(field: string): string[] | undefined {
    const v = this.#raw[field];
    if (v === undefined || v === null) return undefined;
    const list = typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : v;
    if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s !== ''))
      throw this.fail(field, 'must be a non-empty list of strings');
    return list as string[];
  }

  role(): Role {
    const v = this.optString('defaultRole') ?? 'viewer';
    if (!(ROLES as readonly string[]).includes(v))
      throw this.fail('defaultRole', `must be one of ${ROLES.join(', ')}`);
    return v as Role;
  }

  /** An absolute http(s) URL; http only when `allowHttp`. */
  url(field: string, allowHttp: boolean): URL {
    const v = this.string(field);
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw this.fail(field, `is not a valid URL: ${v}`);
    }
    if (u.protocol !== 'https:' && !(allowHttp && u.protocol === 'http:'))
      throw this.fail(
        field,
        `must be an https:// URL${allowHttp ? ' (or http://)' : ' (set allowHttp: true for http://)'}`,
      );
    return u;
  }
}

/** A username Gantry accepts, or undefined. */
export function validUsername(v: unknown): string | undefined {
  return typeof v === 'string' && NAME_RE.test(v) ? v : undefined;
}

/**
 * Group names from a claim or attribute (a list, or one string). Names Gantry
 * cannot use (e.g. LDAP DNs with spaces and commas) are dropped with a warning
 * rather than failing the login.
 */
export function groupNames(v: unknown, logger: Logger, provider: string): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  const out = new Set<string>();
  const dropped: string[] = [];
  for (const g of list) {
    if (typeof g !== 'string') continue;
    const name = g.trim();
    if (NAME_RE.test(name)) out.add(name);
    else if (name !== '') dropped.push(name.slice(0, 100));
  }
  if (dropped.length > 0)
    logger.warn({ provider, dropped }, 'sso: ignored group names that are not valid Gantry group names');
  return [...out].sort();
}

/** An e-mail address, or null. */
export function emailOf(v: unknown): string | null {
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' && /^[^\s@]+@[^\s@]+$/.test(v.trim()) ? v.trim() : null;
}

/**
 * The GANTRY_UNAUTHORIZED error a failed login throws: `message` is shown to the user, `reason` only logged.
 * `userSide` marks failures that are not the provider's fault (the user cancelled, a replayed answer):
 * they do not turn the provider's admin status to 'error' (see isUserSide).
 */
export function loginFailed(
  message: string,
  reason?: string,
  cause?: unknown,
  opts?: { userSide?: boolean },
): GantryError {
  const details = {
    ...(reason === undefined ? {} : { reason }),
    ...(opts?.userSide === true ? { userSide: true } : {}),
  };
  return new GantryError('GANTRY_UNAUTHORIZED', message, {
    cause,
    details: Object.keys(details).length === 0 ? undefined : details,
  });
}

/** True for a loginFailed error marked `userSide`. */
export function isUserSide(e: unknown): boolean {
  return e instanceof GantryError && e.details?.userSide === true;
}
