/**
 * Identity tokens for apps: a short-lived ES256 JWT in `Gantry-Identity` that an app
 * verifies with the public keys at `/.well-known/jwks.json`, so it can trust who the
 * caller is without trusting the network between it and Gantry.
 *
 * Signing is synchronous (node:crypto) because the router's gate decides synchronously,
 * and tokens are cached per (user, app): a token is re-signed only when less than half
 * of its lifetime is left, or after {@link IdentitySigner.invalidate} (the directory
 * changed: groups, role, email).
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  sign,
  type JsonWebKeyInput,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GantryError } from '../errors/index.js';
import type { Identity } from '../identity/types.js';

/** A public key as published in the JWKS. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface Jwks {
  keys: PublicJwk[];
}

/** Claims of a Gantry identity token. Times are seconds since the epoch. */
export interface IdentityClaims {
  /** Gantry's public URL. */
  iss: string;
  /** `${publicUrl}/apps/NAME/`: a token for one app is useless at another. */
  aud: string;
  /** Username. */
  sub: string;
  email: string | null;
  groups: string[];
  role: Identity['role'];
  iat: number;
  exp: number;
}

export interface SignerOptions {
  /** Gantry's data directory; the key lives in `keys/identity-key.json` (mode 0600). */
  dataDir: string;
  /** Gantry's public URL without a trailing slash (config.publicUrl). */
  publicUrl: string;
  /** Token lifetime (config.identityTokenTtlMs). Default 5 minutes. */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Upper bound on cached tokens; the cache is emptied when it is reached. Default 50,000. */
  maxCached?: number;
}

interface Cached {
  token: string;
  /** Re-sign after this instant (ms): half the lifetime is gone. */
  refreshAt: number;
}

const KEY_FILE = 'identity-key.json';

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

/** RFC 7638 thumbprint of a P-256 public key. */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Reads the private JWK, creating it (mode 0600) on first use. */
async function loadOrCreateKey(dataDir: string): Promise<KeyObject> {
  const dir = join(dataDir, 'keys');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, KEY_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
    if ((await stat(file)).mode & 0o077) await chmod(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text === undefined) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    try {
      await writeFile(file, JSON.stringify(jwk) + '\n', { mode: 0o600, flag: 'wx' });
      return privateKey;
    } catch (e) {
      // Another process created it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      text = await readFile(file, 'utf8');
    }
  }
  try {
    const jwk = JSON.parse(text) as { kty?: string; crv?: string; d?: string };
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string')
      throw new Error('not a P-256 key');
    return createPrivateKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
  } catch (err) {
    throw new GantryError(
      'GANTRY_INVALID_CONFIG',
      `${file} is not a valid P-256 private JWK (${(err as Error).message}): move it away and restart to create a new identity key`,
      { cause: err },
    );
  }
}

export class IdentitySigner {
  readonly #key: KeyObject;
  readonly #jwks: Jwks;
  readonly #headerB64: string;
  readonly #issuer: string;
  readonly #ttlMs: number;
  readonly #ttlSec: number;
  readonly #now: () => number;
  readonly #max: number;
  /** userId → app → token. Two lookups, no key string built per request. */
  #cache = new Map<string, Map<string, Cached>>();
  #size = 0;

  private constructor(key: KeyObject, opts: SignerOptions) {
    this.#key = key;
    const pub = key.export({ format: 'jwk' }) as { kty: 'EC'; crv: 'P-256'; x: string; y: string };
    const kid = jwkThumbprint(pub);
    this.#jwks = {
      keys: [Object.freeze({ kty: 'EC', crv: 'P-256', x: pub.x, y: pub.y, kid, alg: 'ES256', use: 'sig' })],
    };
    Object.freeze(this.#jwks.keys);
    Object.freeze(this.#jwks);
    this.#headerB64 = b64url(Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid })));
    this.#issuer = opts.publicUrl.replace(/\/+$/, '');
    this.#ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.#ttlSec = Math.max(1, Math.round(this.#ttlMs / 1000));
    this.#now = opts.now ?? Date.now;
    this.#max = opts.maxCached ?? 50_000;
  }

  /** Loads the key pair from `${dataDir}/keys/identity-key.json`, creating it on first use. */
  static async load(opts: SignerOptions): Promise<IdentitySigner> {
    return new IdentitySigner(await loadOrCreateKey(opts.dataDir), opts);
  }

  /** `kid` of the signing key (its RFC 7638 thumbprint). */
  get kid(): string {
    return this.#jwks.keys[0]!.kid;
  }

  /** The body of `/.well-known/jwks.json`. The same frozen object every call. */
  jwks(): Jwks {
    return this.#jwks;
  }

  /**
   * A token for `identity` at `app`: from the cache while more than half its lifetime
   * is left, freshly signed otherwise. Synchronous; never throws for valid input.
   */
  sign(identity: Identity, app: string): string {
    const now = this.#now();
    let perUser = this.#cache.get(identity.userId);
    const hit = perUser?.get(app);
    if (hit !== undefined && now < hit.refreshAt) return hit.token;
    const token = this.signUncached(identity, app, now);
    if (perUser === undefined) {
      if (this.#size >= this.#max) this.invalidate();
      perUser = new Map();
      this.#cache.set(identity.userId, perUser);
    }
    if (hit === undefined) this.#size++;
    perUser.set(app, { token, refreshAt: now + this.#ttlMs / 2 });
    return token;
  }

  /** Signs a new token without looking at the cache (tests, benchmarks). */
  signUncached(identity: Identity, app: string, now = this.#now()): string {
    const iat = Math.floor(now / 1000);
    const claims: IdentityClaims = {
      iss: this.#issuer,
      aud: `${this.#issuer}/apps/${app}/`,
      sub: identity.username,
      email: identity.email,
      groups: [...identity.groups],
      role: identity.role,
      iat,
      exp: iat + this.#ttlSec,
    };
    const input = `${this.#headerB64}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
    const sig = sign('sha256', Buffer.from(input), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  }

  /** Forgets every cached token (call when users, groups or roles change). */
  invalidate(): void {
    this.#cache = new Map();
    this.#size = 0;
  }

  /** Number of cached tokens (tests). */
  get cached(): number {
    return this.#size;
  }
}
