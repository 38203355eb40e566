/**
 * Single sign-on providers. Each provider module validates its own settings
 * (from `authProviders` in gantry.json) and reports logins as ExternalIdentity;
 * the core maps that to a Gantry user, groups and a session.
 */
import type { ExternalIdentity, Role } from '../identity/types.js';

interface ProviderBase {
  /** Unique, URL-safe (`[a-z0-9-]+`): appears in /auth/NAME/… and as the user/group source. */
  readonly name: string;
  /** Shown on the login page, e.g. "Okta". */
  readonly label: string;
  /** Role of users created on their first login through this provider. */
  readonly defaultRole: Role;
  /**
   * Active health check for administrators (POST /api/admin/sso/:name/check):
   * contacts the identity provider (or inspects its settings where there is
   * nothing to contact) without signing anyone in. Resolves with what was
   * checked, in words, e.g. "discovery document of https://idp/ fetched; 2
   * signing keys"; rejects with a GantryError saying what is wrong. Callers
   * bound it with their own timeout (see SsoStatusTracker).
   */
  check?(): Promise<string>;
  close(): Promise<void>;
}

/** Username + password checked by the provider (LDAP / Active Directory). */
export interface PasswordProvider extends ProviderBase {
  readonly type: 'ldap';
  /** undefined when the credentials are wrong or the user is unknown; throws GantryError when the directory is unreachable. */
  authenticate(username: string, password: string): Promise<ExternalIdentity | undefined>;
}

/** Browser redirect flows (OIDC authorization code + PKCE, SAML 2.0 Web SSO). */
export interface RedirectProvider extends ProviderBase {
  readonly type: 'oidc' | 'saml';
  /**
   * Starts a login: returns where to send the browser and an opaque `state` the
   * caller keeps server-side until the callback (keyed by `stateId`, which travels
   * through the provider as OIDC `state` / SAML `RelayState`).
   */
  begin(opts: { callbackUrl: string; stateId: string }): Promise<{ url: string; state: string }>;
  /**
   * Completes a login from the callback request: OIDC passes the full callback URL
   * (query string), SAML passes the POSTed form fields. Throws GantryError
   * (GANTRY_UNAUTHORIZED) with a message a user can act on when it is not valid.
   */
  complete(opts: {
    callbackUrl: string;
    url: URL;
    form?: Record<string, string>;
    state: string;
  }): Promise<ExternalIdentity>;
  /** SAML service-provider metadata XML (for the IdP admin); undefined for OIDC. */
  metadata?(callbackUrl: string): string;
}

export type Provider = PasswordProvider | RedirectProvider;

/**
 * Told about every sign-in through a provider (SsoStatusTracker implements it).
 * Called after the outcome is known; must not throw.
 */
export interface LoginObserver {
  /** A user signed in through the provider named `provider`. */
  loginSucceeded(provider: string): void;
  /**
   * A sign-in through `provider` failed. `error` is for administrators. `providerFault`
   * (default true) says the provider or its configuration is to blame (unreachable,
   * bad certificate); false for the user's own mistakes (wrong password, cancelled).
   */
  loginFailed(provider: string, error: string, opts?: { providerFault: boolean }): void;
}
