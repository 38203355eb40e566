/**
 * The router's auth gate: decides, in process and synchronously, whether a request to
 * `/apps/NAME/…` may reach the app, from the in-memory directory only (no database, no
 * await). The router turns the verdict into a response; see {@link GateVerdict}.
 *
 * Credentials, in order: an `Authorization: Bearer gty_…` API token, else the session
 * cookie. Any other Authorization header (Basic, a non-Gantry bearer) belongs to the app:
 * it is forwarded untouched and the decision falls back to the cookie.
 */
import type { IncomingMessage } from 'node:http';
import { readCookie } from '../identity/cookies.js';
import { allows } from '../identity/policy.js';
import type { Directory, Identity } from '../identity/types.js';
import type { IdentitySigner } from './jwt.js';

/** The request may go to the app. */
export interface AllowVerdict {
  readonly kind: 'allow';
  /** The caller, or undefined for an anonymous visitor of a public app. */
  readonly identity: Identity | undefined;
  /**
   * Identity headers to add upstream as a flat `[name, value, …]` list (X-Gantry-User,
   * X-Gantry-Email, X-Gantry-Groups, Gantry-Identity); undefined when anonymous.
   * Shared between requests: never mutate it.
   */
  readonly headers: readonly string[] | undefined;
}

/**
 * - `allow`: forward (with identity headers when logged in);
 * - `login`: anonymous and the app is not public, or there is no such app (so that
 *   anonymous callers cannot tell which apps exist) → login redirect for browsers, 401 else;
 * - `hidden`: logged in but not allowed, or no such app → the router's "app not found"
 *   404, identical to a missing app;
 * - `badToken`: the request carried a `Bearer gty_…` token that is unknown, revoked or
 *   expired → 401 (never a silent downgrade to anonymous).
 */
export type GateVerdict =
  AllowVerdict | { readonly kind: 'login' } | { readonly kind: 'hidden' } | { readonly kind: 'badToken' };

/** What the router needs from a gate. */
export interface RouterGate {
  /** Gantry's session cookie name (never forwarded to apps). */
  readonly cookieName: string;
  /**
   * Decides one request for `app` (already validated by the router's path check; it may
   * or may not exist). Synchronous, reads memory only; never throws for any input.
   */
  check(app: string, req: IncomingMessage): GateVerdict;
  /** Drops cached identity headers and tokens (call on every directory change). */
  invalidate(): void;
}

export interface GateOptions {
  directory: Pick<Directory, 'resolveSession' | 'resolveToken' | 'appAccess'>;
  /** `sessionCookieName(config.publicUrl)`. */
  cookieName: string;
  signer: IdentitySigner;
  /** Upper bound on cached (user, app) header lists; emptied when reached. Default 50,000. */
  maxCached?: number;
}

const LOGIN: GateVerdict = Object.freeze({ kind: 'login' });
const HIDDEN: GateVerdict = Object.freeze({ kind: 'hidden' });
const BAD_TOKEN: GateVerdict = Object.freeze({ kind: 'badToken' });
const ANONYMOUS: AllowVerdict = Object.freeze({ kind: 'allow', identity: undefined, headers: undefined });

/** `name` equals the lower-case token `lower` ignoring ASCII case (same length assumed). */
export function sameToken(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The token of an `Authorization: Bearer gty_…` value (scheme case-insensitive), or
 * undefined when the header is anything else (then it is the app's business).
 */
export function gantryBearer(value: string): string | undefined {
  if (value.length < 11 || !sameToken(value, 'bearer')) return undefined;
  let i = 6;
  const sp = value.charCodeAt(i);
  if (sp !== 32 && sp !== 9) return undefined;
  while (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9) i++;
  if (!value.startsWith('gty_', i)) return undefined;
  return value.slice(i).trim();
}

/** Printable ASCII passes; anything else (a UTF-8 email, say) is percent-encoded. */
function headerValue(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : encodeURIComponent(s);
}

interface CachedAllow extends AllowVerdict {
  readonly identity: Identity;
  readonly headers: readonly string[];
  /** The JWT inside `headers`, to notice when the signer re-signed. */
  readonly token: string;
}

class Gate implements RouterGate {
  readonly cookieName: string;
  readonly #dir: GateOptions['directory'];
  readonly #signer: IdentitySigner;
  readonly #max: number;
  /** userId → app → verdict with its identity headers. */
  #cache = new Map<string, Map<string, CachedAllow>>();
  #size = 0;

  constructor(opts: GateOptions) {
    this.cookieName = opts.cookieName;
    this.#dir = opts.directory;
    this.#signer = opts.signer;
    this.#max = opts.maxCached ?? 50_000;
  }

  check(app: string, req: IncomingMessage): GateVerdict {
    // One pass over the raw headers: req.headers is never materialised on the hot path.
    const raw = req.rawHeaders;
    let token: string | undefined;
    let session: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === 6) {
        if (session === undefined && sameToken(name, 'cookie'))
          session = readCookie(raw[i + 1], this.cookieName);
      } else if (name.length === 13) {
        if (token === undefined && sameToken(name, 'authorization')) token = gantryBearer(raw[i + 1]!);
      }
    }
    let identity: Identity | undefined;
    if (token !== undefined) {
      identity = this.#dir.resolveToken(token);
      if (identity === undefined) return BAD_TOKEN;
    } else if (session !== undefined && session !== '') {
      identity = this.#dir.resolveSession(session);
    }
    const access = this.#dir.appAccess(app);
    if (access === undefined || !allows(identity, access, 'view')) {
      return identity === undefined ? LOGIN : HIDDEN;
    }
    return identity === undefined ? ANONYMOUS : this.#allow(identity, app);
  }

  invalidate(): void {
    this.#cache = new Map();
    this.#size = 0;
    this.#signer.invalidate();
  }

  #allow(identity: Identity, app: string): AllowVerdict {
    const token = this.#signer.sign(identity, app);
    let perUser = this.#cache.get(identity.userId);
    const hit = perUser?.get(app);
    if (hit !== undefined && hit.token === token) {
      return hit.identity === identity ? hit : { ...hit, identity };
    }
    const headers = ['x-gantry-user', headerValue(identity.username)];
    if (identity.email !== null) headers.push('x-gantry-email', headerValue(identity.email));
    headers.push('x-gantry-groups', headerValue(identity.groups.join(',')), 'gantry-identity', token);
    const v: CachedAllow = { kind: 'allow', identity, headers, token };
    if (perUser === undefined) {
      if (this.#size >= this.#max) {
        this.#cache = new Map();
        this.#size = 0;
      }
      perUser = new Map();
      this.#cache.set(identity.userId, perUser);
    }
    if (hit === undefined) this.#size++;
    perUser.set(app, v);
    return v;
  }
}

export function createGate(opts: GateOptions): RouterGate {
  return new Gate(opts);
}
