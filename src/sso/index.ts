/**
 * Single sign-on: builds the providers listed in `authProviders` and serves
 * the browser redirect flows (see routes.ts). Each provider module validates
 * its own settings; this door checks what they share (type, unique name).
 */
import { GantryError } from '../errors/index.js';
import type { Provider, RedirectProvider, PasswordProvider } from './types.js';
import type { ProviderDeps, ProviderFactory } from './settings.js';
import { createOidcProvider } from './oidc.js';
import { createSamlProvider } from './saml.js';

export type { Provider, RedirectProvider, PasswordProvider, LoginObserver } from './types.js';
export { SsoStatusTracker, type SsoStatus, type SsoStatusTrackerOptions } from './status.js';
export type { ProviderDeps, ProviderFactory } from './settings.js';
export { createOidcProvider, parseOidcSettings, type OidcSettings } from './oidc.js';
export { createSamlProvider, parseSamlSettings, type SamlSettings } from './saml.js';
export {
  ssoRoutes,
  SSO_COOKIE,
  type SsoRoutesOptions,
  type SsoLoginHandler,
  type SsoFailureHandler,
} from './routes.js';

export type ProviderType = 'oidc' | 'saml' | 'ldap';

/**
 * Builds every provider of `authProviders`, in order. `factories` replaces a
 * type's factory (tests pass fakes; LDAP defaults to ./ldap.js, loaded lazily). Throws GANTRY_INVALID_CONFIG naming the provider and field at the
 * first bad entry; providers already built are closed first.
 */
export async function createProviders(
  raw: unknown[],
  deps: ProviderDeps & { factories?: Partial<Record<ProviderType, ProviderFactory>> },
): Promise<Provider[]> {
  const factories: Partial<Record<string, ProviderFactory>> = {
    oidc: createOidcProvider,
    saml: createSamlProvider,
    // Loaded only when an LDAP provider is configured (ldapts is not needed otherwise).
    ldap: async (raw, d) => (await import('./ldap.js')).createLdapProvider(raw, d),
    ...deps.factories,
  };
  const out: Provider[] = [];
  const names = new Set<string>();
  try {
    for (const [i, entry] of raw.entries()) {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        throw invalid(`authProviders[${i}] must be an object like { "type": "oidc", "name": "okta", … }`);
      const item = entry as Record<string, unknown>;
      const name = typeof item.name === 'string' ? item.name : undefined;
      const where = name === undefined ? `authProviders[${i}]` : `authProviders: provider "${name}"`;
      if (name === undefined) throw invalid(`${where}: "name" is required`);
      if (names.has(name))
        throw invalid(`${where}: "name" is used by another provider; names must be unique`);
      const type = item.type;
      const factory = typeof type === 'string' ? factories[type] : undefined;
      if (factory === undefined)
        throw invalid(
          `${where}: "type" must be one of ${Object.keys(factories).sort().join(', ')} (got ${JSON.stringify(type)})`,
        );
      names.add(name);
      const provider = await factory(item, deps);
      out.push(provider);
    }
  } catch (e) {
    await closeProviders(out);
    throw e;
  }
  return out;
}

/** The providers that sign in through browser redirects (for ssoRoutes). */
export function redirectProviders(providers: readonly Provider[]): RedirectProvider[] {
  return providers.filter((p): p is RedirectProvider => p.type === 'oidc' || p.type === 'saml');
}

/** The providers that check a username and password (for the login form and git basic auth). */
export function passwordProviders(providers: readonly Provider[]): PasswordProvider[] {
  return providers.filter((p): p is PasswordProvider => p.type === 'ldap');
}

/** Closes every provider; failures are collected and rethrown together. */
export async function closeProviders(providers: readonly Provider[]): Promise<void> {
  const results = await Promise.allSettled(providers.map((p) => p.close()));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0)
    throw new AggregateError(
      failed.map((f) => f.reason as unknown),
      'closing SSO providers failed',
    );
}

function invalid(message: string): GantryError {
  return new GantryError('GANTRY_INVALID_CONFIG', message);
}
