/**
 * OpenID Connect: authorization code flow with PKCE (S256), state and nonce,
 * through openid-client. The issuer is discovered on first use (not at
 * startup, so Gantry starts while the identity provider is down) and again
 * after a failure.
 */
import * as client from 'openid-client';
import type { Role } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import type { ExternalIdentity } from '../identity/types.js';
import type { RedirectProvider } from './types.js';
import {
  SettingsReader,
  emailOf,
  groupNames,
  loginFailed,
  validUsername,
  type ProviderDeps,
} from './settings.js';
import { GantryError } from '../errors/index.js';

export interface OidcSettings {
  type: 'oidc';
  name: string;
  label: string;
  issuer: URL;
  clientId: string;
  /** Absent for a public client (PKCE only). */
  clientSecret?: string;
  scopes: string[];
  usernameClaim: string;
  emailClaim: string;
  groupsClaim: string;
  defaultRole: Role;
  allowHttp: boolean;
}

const KNOWN = [
  'issuer',
  'clientId',
  'clientSecret',
  'scopes',
  'usernameClaim',
  'emailClaim',
  'groupsClaim',
  'allowHttp',
];

/** Validates one `{ type: 'oidc', … }` entry of `authProviders`. */
export function parseOidcSettings(raw: Record<string, unknown>): OidcSettings {
  const r = new SettingsReader(raw, 'oidc', KNOWN);
  const name = r.name();
  const allowHttp = r.optBool('allowHttp') ?? false;
  const scopes = r.optStringList('scopes') ?? ['openid', 'email', 'profile'];
  if (!scopes.includes('openid')) throw r.fail('scopes', 'must include "openid"');
  return {
    type: 'oidc',
    name,
    label: r.optString('label') ?? name,
    issuer: r.url('issuer', allowHttp),
    clientId: r.string('clientId'),
    clientSecret: r.optString('clientSecret'),
    scopes,
    usernameClaim: r.optString('usernameClaim') ?? 'preferred_username',
    emailClaim: r.optString('emailClaim') ?? 'email',
    groupsClaim: r.optString('groupsClaim') ?? 'groups',
    defaultRole: r.role(),
    allowHttp,
  };
}

/** Authorization error codes that are about the user (refused, not signed in at the IdP), not the setup. */
const USER_SIDE_ERRORS = new Set([
  'access_denied',
  'login_required',
  'consent_required',
  'interaction_required',
  'account_selection_required',
]);

interface OidcState {
  stateId: string;
  verifier: string;
  nonce: string;
}

class OidcProvider implements RedirectProvider {
  readonly type = 'oidc' as const;
  readonly name: string;
  readonly label: string;
  readonly defaultRole: Role;
  readonly #s: OidcSettings;
  readonly #logger: Logger;
  #config: Promise<client.Configuration> | undefined;

  constructor(s: OidcSettings, logger: Logger) {
    this.#s = s;
    this.name = s.name;
    this.label = s.label;
    this.defaultRole = s.defaultRole;
    this.#logger = logger;
  }

  /** Discovery, cached; a failure is not cached (the next login tries again). */
  #discover(): Promise<client.Configuration> {
    this.#config ??= client
      .discovery(
        this.#s.issuer,
        this.#s.clientId,
        undefined,
        this.#s.clientSecret === undefined ? client.None() : client.ClientSecretBasic(this.#s.clientSecret),
        { execute: this.#s.allowHttp ? [client.allowInsecureRequests] : [], timeout: 10 },
      )
      .catch((e: unknown) => {
        this.#config = undefined;
        throw new GantryError(
          'GANTRY_INTERNAL',
          `cannot reach the identity provider "${this.label}" right now; try again later`,
          { cause: e, details: { reason: `discovery of ${this.#s.issuer.href} failed: ${errorText(e)}` } },
        );
      });
    return this.#config;
  }

  async begin(opts: { callbackUrl: string; stateId: string }): Promise<{ url: string; state: string }> {
    const config = await this.#discover();
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: opts.callbackUrl,
      scope: this.#s.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: opts.stateId,
      nonce,
    });
    const state: OidcState = { stateId: opts.stateId, verifier, nonce };
    return { url: url.href, state: JSON.stringify(state) };
  }

  async complete(opts: { callbackUrl: string; url: URL; state: string }): Promise<ExternalIdentity> {
    const st = JSON.parse(opts.state) as OidcState;
    const config = await this.#discover();
    const url = new URL(opts.callbackUrl);
    url.search = opts.url.search;
    const idpError = url.searchParams.get('error');
    if (idpError !== null) {
      const description = url.searchParams.get('error_description') ?? '';
      const code = /^[a-z_]{1,40}$/.test(idpError) ? idpError : 'error';
      throw loginFailed(
        `${this.label} did not sign you in (${code})`,
        `${idpError}: ${description.slice(0, 300)}`,
        undefined,
        { userSide: USER_SIDE_ERRORS.has(idpError) },
      );
    }
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: st.verifier,
        expectedNonce: st.nonce,
        expectedState: st.stateId,
        idTokenExpected: true,
      });
    } catch (e) {
      throw loginFailed(`${this.label}'s answer could not be verified`, errorText(e), e);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw loginFailed(`${this.label} sent no ID token`);
    let claims: Record<string, unknown> = idClaims;
    const s = this.#s;
    const missing = [s.usernameClaim, s.emailClaim, s.groupsClaim].some((c) => idClaims[c] === undefined);
    if (missing && config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        // The signed ID token wins where both say something.
        claims = { ...info, ...idClaims };
      } catch (e) {
        throw loginFailed(`${this.label}'s user information could not be read`, errorText(e), e);
      }
    }
    const emailClaim = claims[s.emailClaim];
    const email = emailOf(emailClaim);
    const username =
      validUsername(claims[s.usernameClaim]) ??
      validUsername(email?.slice(0, email.indexOf('@'))) ??
      validUsername(idClaims.sub);
    if (username === undefined)
      throw loginFailed(
        `${this.label} sent no usable username; an administrator can set "usernameClaim" for this provider`,
        `claim ${s.usernameClaim}, email and sub are not valid usernames`,
      );
    return {
      provider: this.name,
      subject: idClaims.sub,
      username,
      email,
      groups: groupNames(claims[s.groupsClaim], this.#logger, this.name),
    };
  }

  /** Fetches the discovery document and the signing keys it points to (plain fetches: nothing cached). */
  async check(): Promise<string> {
    const issuer = this.#s.issuer.href;
    const where = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const doc = await this.#fetchJson(where, 'discovery document');
    if (doc.issuer !== issuer && doc.issuer !== issuer.replace(/\/$/, ''))
      throw this.#unhealthy(
        `its discovery document names the issuer ${JSON.stringify(doc.issuer)}, not ${issuer}; fix "issuer"`,
      );
    for (const field of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'])
      if (typeof doc[field] !== 'string')
        throw this.#unhealthy(`its discovery document at ${where} has no ${field}`);
    const jwks = await this.#fetchJson(doc.jwks_uri as string, 'signing keys');
    const keys = Array.isArray(jwks.keys) ? jwks.keys.length : 0;
    if (keys === 0) throw this.#unhealthy(`it publishes no signing keys at ${String(doc.jwks_uri)}`);
    return `discovery document of ${issuer} fetched; ${keys} signing key${keys === 1 ? '' : 's'}`;
  }

  async #fetchJson(url: string, what: string): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS), redirect: 'follow' });
    } catch (e) {
      throw this.#unhealthy(`its ${what} at ${url} cannot be fetched (${errorText(causeOf(e))})`, e);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw this.#unhealthy(`its ${what} at ${url} answered HTTP ${res.status}`);
    }
    try {
      const body: unknown = await res.json();
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new Error('not a JSON object');
      return body as Record<string, unknown>;
    } catch (e) {
      throw this.#unhealthy(`its ${what} at ${url} is not valid JSON (${errorText(e)})`, e);
    }
  }

  #unhealthy(why: string, cause?: unknown): GantryError {
    return new GantryError('GANTRY_INTERNAL', `OIDC provider "${this.name}" is not usable: ${why}`, {
      cause,
    });
  }

  async close(): Promise<void> {
    this.#config = undefined;
  }
}

const CHECK_TIMEOUT_MS = 5000;

/** fetch() rejects with "fetch failed" and puts the reason (ECONNREFUSED, certificate…) in `cause`. */
function causeOf(e: unknown): unknown {
  return e instanceof Error && e.cause !== undefined ? e.cause : e;
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const extra = e as Error & { code?: string; error?: string; error_description?: string };
  const parts = [extra.code, e.message, extra.error, extra.error_description].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  return parts.join(': ');
}

/** Factory for `{ type: 'oidc' }` providers. */
export async function createOidcProvider(
  raw: Record<string, unknown>,
  deps: ProviderDeps,
): Promise<RedirectProvider> {
  return new OidcProvider(parseOidcSettings(raw), deps.logger);
}
