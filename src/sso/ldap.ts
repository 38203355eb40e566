/**
 * LDAP / Active Directory login: checks a username and password against a
 * directory and reports the user's groups.
 *
 * Per login, on one fresh connection (never re-opened: a dropped StartTLS
 * connection must not silently continue in clear text):
 * 1. StartTLS when configured; bind as the service account (or stay anonymous);
 * 2. search `userBase` with `userFilter`, the username escaped per RFC 4515;
 *    exactly one entry must match, else the login fails;
 * 3. bind as that entry's DN with the password (an empty password is refused
 *    before any of this: it would be an "unauthenticated bind" that succeeds);
 * 4. bind back as the service account (or anonymous) and collect groups: a paged
 *    search of `groupBase` with `groupFilter` asking only for the name attribute,
 *    or the user's `memberOf` values (the Active Directory way);
 * 5. keep the groups whose whole name matches `groupAllowlist`.
 *
 * Wrong password, unknown or ambiguous user → undefined. An outage, a TLS failure
 * or a misconfiguration (bad service account, missing base DN) → GantryError, so
 * the login page can say the directory is down rather than "wrong password".
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import {
  Client,
  FilterParser,
  InvalidCredentialsError,
  NoSuchObjectError,
  ResultCodeError,
  SizeLimitExceededError,
  type Entry,
} from 'ldapts';
import { GantryError } from '../errors/index.js';
import { ROLES, type ExternalIdentity, type Role } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import type { PasswordProvider } from './types.js';

/** Validated settings of one `{ "type": "ldap", … }` entry of `authProviders`. */
export interface LdapConfig {
  name: string;
  label: string;
  defaultRole: Role;
  /** `ldap://host:port` or `ldaps://host:port` (no path). */
  url: string;
  startTls: boolean;
  /** PEM of the CA(s) trusted for the directory's certificate; system CAs when absent. */
  tlsCa?: string;
  tlsInsecure: boolean;
  /** Service account; anonymous search when absent. */
  bindDn?: string;
  bindPassword?: string;
  userBase: string;
  /** `{username}` is replaced by the escaped login name. */
  userFilter: string;
  usernameAttribute: string;
  emailAttribute: string;
  /** Where groups are searched (or, with useMemberOf, which memberOf DNs count); no groups when absent and not useMemberOf. */
  groupBase?: string;
  /** `{dn}` → the user's DN, `{username}` → the user's usernameAttribute value (both escaped). */
  groupFilter: string;
  groupNameAttribute: string;
  useMemberOf: boolean;
  /** Whole-name match (anchored). */
  groupAllowlist?: RegExp;
  timeoutMs: number;
}

export const DEFAULT_USER_FILTER = '(|(uid={username})(sAMAccountName={username}))';
export const DEFAULT_GROUP_FILTER = '(|(member={dn})(uniqueMember={dn})(memberUid={username}))';
const GROUP_PAGE_SIZE = 1000;
const MAX_USERNAME = 256;

const KNOWN_FIELDS = new Set(
  (
    'type name label url startTls tlsCa tlsInsecure bindDn bindPassword userBase userFilter usernameAttribute ' +
    'emailAttribute groupBase groupFilter groupNameAttribute useMemberOf groupAllowlist defaultRole timeoutMs'
  ).split(' '),
);

/** Escapes a value for use inside an LDAP filter (RFC 4515: `*`, `(`, `)`, `\`, NUL). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Fills `{username}` / `{dn}` in one pass (a value containing `{dn}` is not substituted again). */
export function fillFilter(template: string, values: { username: string; dn?: string }): string {
  return template.replace(/\{(username|dn)\}/g, (_, k: 'username' | 'dn') =>
    escapeFilterValue(values[k] ?? ''),
  );
}

/** The value of a DN's first RDN (`CN=Smith\, John,OU=…` → `Smith, John`); undefined when malformed. */
export function firstRdnValue(dn: string): string | undefined {
  const eq = dn.indexOf('=');
  if (eq <= 0) return undefined;
  const bytes: number[] = [];
  const push = (s: string): void => void bytes.push(...Buffer.from(s, 'utf8'));
  for (let i = eq + 1; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === ',' || c === '+') break;
    if (c !== '\\') {
      push(c);
      continue;
    }
    const hex = dn.slice(i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (i + 1 < dn.length) {
      push(dn[++i]!);
    } else {
      return undefined;
    }
  }
  const value = Buffer.from(bytes).toString('utf8').trim();
  return value || undefined;
}

/** Lower-cased, without spaces around separators: enough to compare DNs the directory itself returned. */
function normDn(dn: string): string {
  return dn.toLowerCase().replace(/\s*([,=+])\s*/g, '$1');
}

/** Active Directory objectGUID (little-endian fields) as the usual string form. */
function formatGuid(b: Buffer): string {
  const h = (i: number[]): string => i.map((n) => b[n]!.toString(16).padStart(2, '0')).join('');
  return `${h([3, 2, 1, 0])}-${h([5, 4])}-${h([7, 6])}-${h([8, 9])}-${h([10, 11, 12, 13, 14, 15])}`;
}

/** Attribute values of an entry, by case-insensitive name. */
function values(entry: Entry, attr: string): (string | Buffer)[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key || key === 'dn') return [];
  const v = entry[key]!;
  return Array.isArray(v) ? v : [v];
}

function firstString(entry: Entry, attr: string): string | undefined {
  const v = values(entry, attr)[0];
  return v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8');
}

// ---- configuration ---------------------------------------------------------------------------

/** Validates one provider's settings. Throws GANTRY_INVALID_CONFIG naming the provider and field. */
export async function parseLdapConfig(raw: unknown, logger?: Logger): Promise<LdapConfig> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new GantryError('GANTRY_INVALID_CONFIG', 'authProviders: an LDAP provider must be an object');
  }
  const r = raw as Record<string, unknown>;
  const rawName = r.name;
  const who = typeof rawName === 'string' && rawName ? `LDAP provider "${rawName}"` : 'LDAP provider';
  const bad = (field: string, why: string): GantryError =>
    new GantryError('GANTRY_INVALID_CONFIG', `authProviders: ${who}: ${field} ${why}`);
  const str = (field: string, required = false): string | undefined => {
    const v = r[field];
    if (v === undefined || v === null) {
      if (required) throw bad(field, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || !v.trim()) throw bad(field, 'must be a non-empty string');
    return v.trim();
  };
  const bool = (field: string): boolean => {
    const v = r[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw bad(field, 'must be true or false');
    return v;
  };

  const unknown = Object.keys(r).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length) throw bad(unknown.join(', '), `unknown (known: ${[...KNOWN_FIELDS].join(', ')})`);
  if (r.type !== 'ldap') throw bad('type', 'must be "ldap"');
  const name = str('name', true)!;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw bad('name', 'must match [a-z0-9][a-z0-9-]* (URL-safe)');

  const urlText = str('url', true)!;
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw bad('url', `"${urlText}" is not a URL (expected ldap://host:389 or ldaps://host:636)`);
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:')
    throw bad('url', 'must start with ldap:// or ldaps://');
  if (!url.hostname) throw bad('url', 'has no host');
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash || url.username) {
    throw bad('url', 'must be only scheme://host:port (put the base DN in userBase)');
  }
  const startTls = bool('startTls');
  const tlsInsecure = bool('tlsInsecure');
  const secure = url.protocol === 'ldaps:';
  if (startTls && secure) throw bad('startTls', 'is for ldap:// URLs (ldaps:// is already TLS)');

  let tlsCa: string | undefined;
  const caText = str('tlsCa');
  if (caText !== undefined) {
    if (!secure && !startTls) throw bad('tlsCa', 'has no effect without ldaps:// or startTls: true');
    if (caText.startsWith('-----BEGIN')) {
      tlsCa = caText;
    } else {
      try {
        tlsCa = await readFile(caText, 'utf8');
      } catch (e) {
        throw bad('tlsCa', `is neither a PEM certificate nor a readable file: ${(e as Error).message}`);
      }
    }
    try {
      new X509Certificate(tlsCa);
    } catch {
      throw bad('tlsCa', 'does not contain a PEM certificate (-----BEGIN CERTIFICATE-----)');
    }
  }
  if (tlsInsecure && !secure && !startTls)
    throw bad('tlsInsecure', 'has no effect without ldaps:// or startTls');

  const bindDn = str('bindDn');
  const bindPassword =
    typeof r.bindPassword === 'string' && r.bindPassword !== '' ? r.bindPassword : undefined;
  if (r.bindPassword !== undefined && bindPassword === undefined) {
    throw bad('bindPassword', 'must be a non-empty string (an empty password binds anonymously)');
  }
  if (bindDn && !bindPassword) throw bad('bindPassword', 'is required with bindDn');
  if (bindPassword && !bindDn) throw bad('bindDn', 'is required with bindPassword');

  const checkFilter = (field: string, template: string, placeholders: string[]): string => {
    if (!placeholders.some((p) => template.includes(p)))
      throw bad(field, `must contain ${placeholders.join(' or ')}`);
    try {
      FilterParser.parseString(fillFilter(template, { username: 'x', dn: 'cn=x,dc=x' }));
    } catch (e) {
      throw bad(field, `is not a valid LDAP filter: ${(e as Error).message}`);
    }
    return template;
  };
  const userFilter = checkFilter('userFilter', str('userFilter') ?? DEFAULT_USER_FILTER, ['{username}']);
  const groupFilter = checkFilter('groupFilter', str('groupFilter') ?? DEFAULT_GROUP_FILTER, [
    '{dn}',
    '{username}',
  ]);
  const attrName = (field: string, dflt: string): string => {
    const v = str(field) ?? dflt;
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(v)) throw bad(field, 'must be an attribute name like "mail"');
    return v;
  };

  let groupAllowlist: RegExp | undefined;
  const allow = str('groupAllowlist');
  if (allow !== undefined) {
    try {
      groupAllowlist = new RegExp(`^(?:${allow})$`);
    } catch (e) {
      throw bad('groupAllowlist', `is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  const roleText = str('defaultRole') ?? 'viewer';
  if (!ROLES.includes(roleText as Role)) throw bad('defaultRole', `must be one of ${ROLES.join(', ')}`);
  const timeoutMs = r.timeoutMs ?? 5000;
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 100 ||
    timeoutMs > 120_000
  ) {
    throw bad('timeoutMs', 'must be an integer number of milliseconds between 100 and 120000');
  }

  const cfg: LdapConfig = {
    name,
    label: str('label') ?? name,
    defaultRole: roleText as Role,
    url: `${url.protocol}//${url.host}`,
    startTls,
    tlsCa,
    tlsInsecure,
    bindDn,
    bindPassword,
    userBase: str('userBase', true)!,
    userFilter,
    usernameAttribute: attrName('usernameAttribute', 'uid'),
    emailAttribute: attrName('emailAttribute', 'mail'),
    groupBase: str('groupBase'),
    groupFilter,
    groupNameAttribute: attrName('groupNameAttribute', 'cn'),
    useMemberOf: bool('useMemberOf'),
    groupAllowlist,
    timeoutMs,
  };
  const local = ['127.0.0.1', '::1', '[::1]', 'localhost'].includes(url.hostname);
  if (!secure && !startTls && !local) {
    logger?.warn({ provider: name }, 'LDAP provider sends passwords in clear text: use ldaps:// or startTls');
  }
  if (tlsInsecure)
    logger?.warn({ provider: name }, 'LDAP provider does not verify the directory certificate');
  if (!cfg.groupBase && !cfg.useMemberOf) {
    logger?.info(
      { provider: name },
      'LDAP provider has no groupBase and useMemberOf is off: users get no groups',
    );
  }
  return cfg;
}

// ---- the provider ------------------------------------------------------------------------------

const TLS_ERRORS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by a trusted CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in an untrusted CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not trusted',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this host',
};

class LdapProvider implements PasswordProvider {
  readonly type = 'ldap' as const;
  readonly name: string;
  readonly label: string;
  readonly defaultRole: Role;
  readonly #cfg: LdapConfig;
  readonly #logger: Logger;
  readonly #tls: ConnectionOptions;
  readonly #open = new Set<Client>();

  constructor(cfg: LdapConfig, logger: Logger) {
    this.#cfg = cfg;
    this.name = cfg.name;
    this.label = cfg.label;
    this.defaultRole = cfg.defaultRole;
    this.#logger = logger.child({ provider: cfg.name });
    const u = new URL(cfg.url);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    this.#tls = {
      host,
      servername: isIP(host) ? undefined : host,
      ca: cfg.tlsCa,
      rejectUnauthorized: !cfg.tlsInsecure,
      minVersion: 'TLSv1.2',
    };
  }

  async close(): Promise<void> {
    const open = [...this.#open];
    this.#open.clear();
    await Promise.all(open.map((c) => this.#unbind(c)));
  }

  async authenticate(username: string, password: string): Promise<ExternalIdentity | undefined> {
    // An empty password turns a simple bind into an anonymous one that "succeeds" (RFC 4513 5.1.2).
    if (!username || !password || username.length > MAX_USERNAME) return undefined;
    const cfg = this.#cfg;
    const client = this.#client();
    this.#open.add(client);
    try {
      // ldapts writes its socket into the options object: pass a copy.
      if (cfg.startTls) await this.#step('StartTLS', () => client.startTLS({ ...this.#tls }));
      await this.#bindService(client);
      const user = await this.#findUser(client, username);
      if (!user) return undefined;
      const ok = await this.#step('bind as the user', async () => {
        try {
          await client.bind(user.dn, password);
          return true;
        } catch (e) {
          if (e instanceof InvalidCredentialsError) return false;
          throw e;
        }
      });
      if (!ok) {
        this.#logger.info({ username }, 'LDAP login failed: wrong password (or account locked/disabled)');
        return undefined;
      }
      const name = firstString(user, cfg.usernameAttribute);
      if (!name)
        this.#logger.warn({ dn: user.dn }, `LDAP user has no ${cfg.usernameAttribute}: using the login name`);
      const canonical = name ?? username.trim();
      await this.#bindService(client);
      const groups = await this.#groups(client, user, canonical);
      const uuid = firstString(user, 'entryUUID');
      const guid = values(user, 'objectGUID')[0];
      return {
        provider: cfg.name,
        subject: uuid ?? (Buffer.isBuffer(guid) && guid.length === 16 ? formatGuid(guid) : user.dn),
        username: canonical,
        email: firstString(user, cfg.emailAttribute) ?? null,
        groups,
      };
    } finally {
      this.#open.delete(client);
      await this.#unbind(client);
    }
  }

  /**
   * Connects (StartTLS when configured), binds as the service account (or
   * anonymously) and reads the userBase entry, as every login does first.
   */
  async check(): Promise<string> {
    const cfg = this.#cfg;
    const client = this.#client();
    this.#open.add(client);
    try {
      if (cfg.startTls) await this.#step('StartTLS', () => client.startTLS({ ...this.#tls }));
      await this.#bindService(client);
      await this.#step('userBase lookup', async () => {
        const missing = (e?: unknown): GantryError =>
          this.#misconfigured(
            `userBase "${cfg.userBase}" does not exist (or is hidden from this account)`,
            e,
          );
        let found: number;
        try {
          const r = await client.search(cfg.userBase, {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes: ['1.1'],
          });
          found = r.searchEntries.length;
        } catch (e) {
          if (e instanceof NoSuchObjectError) throw missing(e);
          throw e;
        }
        if (found === 0) throw missing();
      });
      const tls = cfg.url.startsWith('ldaps:') ? ' (TLS)' : cfg.startTls ? ' (StartTLS)' : '';
      const who = cfg.bindDn === undefined ? 'anonymously' : `as ${cfg.bindDn}`;
      return `connected to ${cfg.url}${tls}, bound ${who}; userBase ${cfg.userBase} found`;
    } finally {
      this.#open.delete(client);
      await this.#unbind(client);
    }
  }

  /** One connection per login: a second connection attempt (ldapts reconnects silently) is refused. */
  #client(): Client {
    const cfg = this.#cfg;
    let connected = false;
    const once = (): void => {
      if (connected) throw new Error('connection closed by the directory during the login');
      connected = true;
    };
    const handshakeTimeout = <T extends TLSSocket>(s: T): T => {
      const timer = setTimeout(
        () => s.destroy(new Error(`TLS handshake timed out after ${cfg.timeoutMs} ms`)),
        cfg.timeoutMs,
      );
      s.once('secureConnect', () => clearTimeout(timer));
      s.once('close', () => clearTimeout(timer));
      return s;
    };
    return new Client({
      url: cfg.url,
      timeout: cfg.timeoutMs,
      connectTimeout: cfg.timeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is set, even for ldap:// URLs.
      tlsOptions: cfg.url.startsWith('ldaps:') ? this.#tls : undefined,
      createConnection: ((port: number, host: string) => {
        once();
        return netConnect(port, host);
      }) as typeof netConnect,
      createSecureConnection: ((...args: [number, string, ConnectionOptions] | [ConnectionOptions]) => {
        if (args.length === 1) return handshakeTimeout(tlsConnect(args[0])); // StartTLS upgrade of our socket
        once();
        return handshakeTimeout(tlsConnect(args[0], args[1], args[2]));
      }) as typeof tlsConnect,
    });
  }

  async #unbind(client: Client): Promise<void> {
    try {
      await client.unbind();
    } catch (e) {
      this.#logger.debug({ err: e }, 'LDAP unbind failed (connection already closed)');
    }
  }

  async #bindService(client: Client): Promise<void> {
    const { bindDn, bindPassword } = this.#cfg;
    await this.#step('bind as the service account', async () => {
      try {
        // Anonymous: a bind with an empty DN and password resets the connection after the user's bind.
        await client.bind(bindDn ?? '', bindPassword ?? '');
      } catch (e) {
        if (e instanceof InvalidCredentialsError) {
          throw this.#misconfigured(
            `the service account ${bindDn} was refused: check bindDn and bindPassword`,
            e,
          );
        }
        throw e;
      }
    });
  }

  async #findUser(client: Client, username: string): Promise<Entry | undefined> {
    const cfg = this.#cfg;
    const attributes = [cfg.usernameAttribute, cfg.emailAttribute, 'entryUUID', 'objectGUID'];
    if (cfg.useMemberOf) attributes.push('memberOf');
    const entries = await this.#step('user search', async () => {
      try {
        const r = await client.search(cfg.userBase, {
          scope: 'sub',
          filter: fillFilter(cfg.userFilter, { username }),
          attributes,
          explicitBufferAttributes: ['objectGUID'],
          sizeLimit: 2,
        });
        return r.searchEntries;
      } catch (e) {
        if (e instanceof NoSuchObjectError) {
          throw this.#misconfigured(
            `userBase "${cfg.userBase}" does not exist (or is hidden from this account)`,
            e,
          );
        }
        throw e;
      }
    });
    if (entries.length === 1) return entries[0];
    if (entries.length > 1)
      this.#logger.warn({ username }, 'LDAP login refused: the username matches several entries');
    else this.#logger.info({ username }, 'LDAP login failed: unknown user');
    return undefined;
  }

  async #groups(client: Client, user: Entry, username: string): Promise<string[]> {
    const cfg = this.#cfg;
    let names: string[];
    if (cfg.useMemberOf) {
      const base = cfg.groupBase && normDn(cfg.groupBase);
      names = values(user, 'memberOf')
        .map((v) => v.toString())
        .filter((dn) => !base || normDn(dn).endsWith(`,${base}`))
        .map((dn) => firstRdnValue(dn))
        .filter((n): n is string => n !== undefined);
    } else if (cfg.groupBase) {
      const groupBase = cfg.groupBase;
      const entries = await this.#step('group search', async () => {
        try {
          const r = await client.search(groupBase, {
            scope: 'sub',
            filter: fillFilter(cfg.groupFilter, { username, dn: user.dn }),
            attributes: [cfg.groupNameAttribute],
            paged: { pageSize: GROUP_PAGE_SIZE },
            sizeLimit: 0,
          });
          return r.searchEntries;
        } catch (e) {
          if (e instanceof NoSuchObjectError) {
            throw this.#misconfigured(
              `groupBase "${groupBase}" does not exist (or is hidden from this account)`,
              e,
            );
          }
          if (e instanceof SizeLimitExceededError) {
            // Partial groups would silently drop memberships (and access): refuse instead.
            throw this.#misconfigured(
              `the directory's size limit cut the group search short; raise it for the service account ` +
                `(OpenLDAP: limits dn.exact="…" size.prtotal=unlimited; Active Directory: MaxPageSize)`,
              e,
            );
          }
          throw e;
        }
      });
      names = entries.map((g) => firstString(g, cfg.groupNameAttribute)).filter((n): n is string => !!n);
    } else {
      names = [];
    }
    const allow = cfg.groupAllowlist;
    return [...new Set(allow ? names.filter((n) => allow.test(n)) : names)].sort();
  }

  /** Runs one step; anything but a GantryError becomes "unreachable" or "failed" with the step named. */
  async #step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof GantryError) throw e;
      throw this.#failure(what, e);
    }
  }

  #misconfigured(why: string, cause: unknown): GantryError {
    return new GantryError('GANTRY_INTERNAL', `LDAP directory ${this.name}: ${why}`, { cause });
  }

  #failure(what: string, e: unknown): GantryError {
    const where = `${this.#cfg.url}`;
    if (e instanceof ResultCodeError) {
      const hint =
        e.code === 8 || e.code === 13 ? ' (the directory requires TLS: use ldaps:// or startTls: true)' : '';
      return this.#misconfigured(`${what} failed: ${e.message} (LDAP result ${e.code})${hint}`, e);
    }
    const err = e as NodeJS.ErrnoException;
    const code = err?.code ?? '';
    let why: string;
    if (code in TLS_ERRORS) {
      why =
        `TLS verification of ${where} failed: ${TLS_ERRORS[code]} (${code}); ` +
        'set tlsCa to the CA that signed the directory certificate';
    } else if (code === 'ECONNREFUSED') {
      why = `connection to ${where} refused`;
    } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      why = `host of ${where} not found`;
    } else if (/timed? ?out|timeout/i.test(err?.message ?? '')) {
      why = `no answer from ${where} within ${this.#cfg.timeoutMs} ms (${what})`;
    } else {
      why = `${what} at ${where} failed: ${err?.message ?? String(e)}`;
    }
    return new GantryError('GANTRY_INTERNAL', `LDAP directory ${this.name} unreachable: ${why}`, {
      cause: e,
      details: { provider: this.name, step: what, code },
    });
  }
}

/**
 * Builds the LDAP / Active Directory provider from one `authProviders` entry.
 * Throws GANTRY_INVALID_CONFIG (naming the provider and field) for bad settings;
 * does not contact the directory.
 */
export async function createLdapProvider(raw: unknown, deps: { logger: Logger }): Promise<PasswordProvider> {
  return new LdapProvider(await parseLdapConfig(raw, deps.logger), deps.logger);
}
