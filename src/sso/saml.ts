/**
 * SAML 2.0 Web SSO as a service provider: AuthnRequest over HTTP-Redirect,
 * Response over HTTP-POST, through @node-saml/node-saml. Checked: the
 * assertion's signature against the configured IdP certificate, the audience
 * (our entity id), NotBefore/NotOnOrAfter, the IdP issuer when configured, and
 * InResponseTo against the one request this login sent (kept in the login's
 * pending state, so a response cannot be used for another login or twice).
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SAML, ValidateInResponseTo, type CacheProvider, type SamlConfig } from '@node-saml/node-saml';
import type { ExternalIdentity, Role } from '../identity/types.js';
import type { Logger } from '../log/index.js';
import { GantryError } from '../errors/index.js';
import type { RedirectProvider } from './types.js';
import {
  SettingsReader,
  emailOf,
  groupNames,
  loginFailed,
  validUsername,
  type ProviderDeps,
} from './settings.js';

export interface SamlSettings {
  type: 'saml';
  name: string;
  label: string;
  /** The IdP's SSO URL (HTTP-Redirect binding). */
  entryPoint: string;
  idpIssuer?: string;
  /** PEM certificates the IdP signs with (more than one during a key rollover). */
  idpCerts: string[];
  /** Our entity id, also the audience the assertion must name. */
  spIssuer: string;
  /** `NameID` or an attribute name. */
  usernameAttribute: string;
  emailAttribute?: string;
  groupsAttribute: string;
  /** NameIDPolicy Format to request; undefined lets the IdP choose. */
  nameIdFormat?: string;
  defaultRole: Role;
  wantAssertionsSigned: boolean;
}

const KNOWN = [
  'entryPoint',
  'idpIssuer',
  'idpCert',
  'spIssuer',
  'usernameAttribute',
  'emailAttribute',
  'groupsAttribute',
  'nameIdFormat',
  'wantAssertionsSigned',
  'allowHttp',
];

const EMAIL_ATTRIBUTES = [
  'email',
  'mail',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
];
const PENDING_REQUEST_MS = 10 * 60_000;
const CLOCK_SKEW_MS = 30_000;

/** Validates one `{ type: 'saml', … }` entry of `authProviders`. */
export function parseSamlSettings(raw: Record<string, unknown>, publicUrl: string): SamlSettings {
  const r = new SettingsReader(raw, 'saml', KNOWN);
  const name = r.name();
  const allowHttp = r.optBool('allowHttp') ?? false;
  return {
    type: 'saml',
    name,
    label: r.optString('label') ?? name,
    entryPoint: r.url('entryPoint', allowHttp).href,
    idpIssuer: r.optString('idpIssuer'),
    idpCerts: readCerts(r, r.string('idpCert')),
    spIssuer: r.optString('spIssuer') ?? `${publicUrl}/auth/${name}/metadata`,
    usernameAttribute: r.optString('usernameAttribute') ?? 'NameID',
    emailAttribute: r.optString('emailAttribute'),
    groupsAttribute: r.optString('groupsAttribute') ?? 'groups',
    nameIdFormat: r.optString('nameIdFormat'),
    defaultRole: r.role(),
    wantAssertionsSigned: r.optBool('wantAssertionsSigned') ?? true,
  };
}

/** `idpCert`: PEM text, a file holding PEM, or bare base64 (as in IdP metadata). */
function readCerts(r: SettingsReader, v: string): string[] {
  let text = v;
  if (!v.includes('-----BEGIN')) {
    if (/^[A-Za-z0-9+/=\s]{100,}$/.test(v)) {
      text = `-----BEGIN CERTIFICATE-----\n${v.replace(/\s+/g, '')}\n-----END CERTIFICATE-----`;
    } else {
      try {
        text = readFileSync(v, 'utf8');
      } catch (e) {
        throw r.fail('idpCert', `is neither a PEM certificate nor a readable file: ${(e as Error).message}`);
      }
    }
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw r.fail('idpCert', 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw r.fail('idpCert', `holds a certificate that cannot be read: ${(e as Error).message}`);
    }
  }
  return pems;
}

interface SamlState {
  requestId: string;
  /** ISO time the AuthnRequest was issued. */
  issuedAt: string;
}

/** A node-saml request-id cache that knows exactly one request: this login's. */
function oneRequest(st: SamlState): CacheProvider {
  return {
    saveAsync: async () => null,
    getAsync: async (key) => (key === st.requestId ? st.issuedAt : null),
    removeAsync: async () => null,
  };
}

class SamlProvider implements RedirectProvider {
  readonly type = 'saml' as const;
  readonly name: string;
  readonly label: string;
  readonly defaultRole: Role;
  readonly #s: SamlSettings;
  readonly #logger: Logger;

  constructor(s: SamlSettings, logger: Logger) {
    this.#s = s;
    this.name = s.name;
    this.label = s.label;
    this.defaultRole = s.defaultRole;
    this.#logger = logger;
  }

  /** node-saml keeps per-instance options; one cheap instance per operation keeps logins apart. */
  #saml(callbackUrl: string, extra: Partial<SamlConfig> = {}): SAML {
    const s = this.#s;
    return new SAML({
      callbackUrl,
      entryPoint: s.entryPoint,
      issuer: s.spIssuer,
      audience: s.spIssuer,
      idpCert: s.idpCerts,
      ...(s.idpIssuer === undefined ? {} : { idpIssuer: s.idpIssuer }),
      identifierFormat: s.nameIdFormat ?? null,
      wantAssertionsSigned: s.wantAssertionsSigned,
      // Most IdPs sign only the assertion; an unsigned assertion is still refused (node-saml requires one of the two).
      wantAuthnResponseSigned: false,
      disableRequestedAuthnContext: true,
      acceptedClockSkewMs: CLOCK_SKEW_MS,
      requestIdExpirationPeriodMs: PENDING_REQUEST_MS,
      validateInResponseTo: ValidateInResponseTo.never,
      ...extra,
    });
  }

  async begin(opts: { callbackUrl: string; stateId: string }): Promise<{ url: string; state: string }> {
    const st: SamlState = {
      requestId: `_${randomBytes(20).toString('hex')}`,
      issuedAt: new Date().toISOString(),
    };
    const saml = this.#saml(opts.callbackUrl, { generateUniqueId: () => st.requestId });
    const url = await saml.getAuthorizeUrlAsync(opts.stateId, undefined, {});
    return { url, state: JSON.stringify(st) };
  }

  async complete(opts: {
    callbackUrl: string;
    url: URL;
    form?: Record<string, string>;
    state: string;
  }): Promise<ExternalIdentity> {
    const response = opts.form?.SAMLResponse;
    if (typeof response !== 'string' || response === '')
      throw loginFailed(`${this.label} sent no SAMLResponse`, undefined, undefined, { userSide: true });
    const st = JSON.parse(opts.state) as SamlState;
    const saml = this.#saml(opts.callbackUrl, {
      validateInResponseTo: ValidateInResponseTo.always,
      cacheProvider: oneRequest(st),
    });
    let profile: Awaited<ReturnType<SAML['validatePostResponseAsync']>>['profile'];
    try {
      ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: response }));
    } catch (e) {
      const text = (e as Error).message ?? String(e);
      // A replayed or stale answer, or the IdP declining this user: the setup is fine.
      const userSide = /inresponseto|saml provider returned/i.test(text);
      throw loginFailed(`${this.label}'s answer ${explain(text)}`, String(e), e, { userSide });
    }
    if (!profile) throw loginFailed(`${this.label} sent a logout response instead of a sign-in`);
    const s = this.#s;
    const attr = (n: string): unknown => (n === 'NameID' ? profile.nameID : profile[n]);
    const email =
      s.emailAttribute !== undefined
        ? emailOf(attr(s.emailAttribute))
        : (EMAIL_ATTRIBUTES.map((n) => emailOf(attr(n))).find((e) => e !== null) ??
          (profile.nameIDFormat?.endsWith(':emailAddress') ? emailOf(profile.nameID) : null));
    const rawName = attr(s.usernameAttribute);
    const username = validUsername(Array.isArray(rawName) ? rawName[0] : rawName);
    if (username === undefined)
      throw loginFailed(
        `${this.label} sent no usable username; an administrator can set "usernameAttribute" for this provider`,
        `${s.usernameAttribute} is missing or not a valid username`,
      );
    return {
      provider: this.name,
      subject: profile.nameID,
      username,
      email,
      groups: groupNames(attr(s.groupsAttribute), this.#logger, this.name),
    };
  }

  metadata(callbackUrl: string): string {
    return this.#saml(callbackUrl).generateServiceProviderMetadata(null, null);
  }

  /**
   * Nothing to contact (the IdP is only reached through the browser): checks that
   * the entry point is an http(s) URL and every IdP certificate reads and is
   * valid now. One certificate out of date is an error even during a rollover:
   * the administrator should remove it before it matters.
   */
  async check(): Promise<string> {
    const fail = (why: string): GantryError =>
      new GantryError('GANTRY_INTERNAL', `SAML provider "${this.name}" is not usable: ${why}`);
    let entry: URL;
    try {
      entry = new URL(this.#s.entryPoint);
    } catch {
      throw fail(`its entryPoint ${this.#s.entryPoint} is not a URL; fix "entryPoint"`);
    }
    if (entry.protocol !== 'https:' && entry.protocol !== 'http:')
      throw fail(`its entryPoint ${entry.href} is not an http(s) URL; fix "entryPoint"`);
    const now = Date.now();
    const valid: string[] = [];
    for (const pem of this.#s.idpCerts) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch (e) {
        throw fail(`an IdP certificate cannot be read (${(e as Error).message}); fix "idpCert"`);
      }
      const subject = cert.subject.replace(/\n/g, ', ');
      const from = new Date(cert.validFrom);
      const to = new Date(cert.validTo);
      if (to.getTime() < now)
        throw fail(
          `the IdP certificate ${subject} expired on ${to.toISOString()}; put the current one in "idpCert"`,
        );
      if (from.getTime() > now)
        throw fail(`the IdP certificate ${subject} is not valid before ${from.toISOString()}`);
      valid.push(`${subject} valid until ${to.toISOString()}`);
    }
    const n = valid.length;
    return `entry point ${entry.href}; ${n} IdP certificate${n === 1 ? '' : 's'}: ${valid.join('; ')}`;
  }

  async close(): Promise<void> {}
}

/** What went wrong, in words a user (or their administrator) can act on. node-saml's own text is only logged. */
function explain(message: string): string {
  const m = message.toLowerCase();
  if (m.includes('expired') || m.includes('not yet valid') || m.includes('no valid subject confirmation'))
    return 'has expired or is not valid yet (check that the server clocks agree)';
  if (m.includes('audience')) return 'is meant for another service (audience mismatch: check spIssuer)';
  if (m.includes('inresponseto'))
    return 'does not match a sign-in started here (it was replayed or belongs to another sign-in)';
  if (m.includes('signature'))
    return 'is not signed with the configured certificate (check idpCert and that assertions are signed)';
  if (m.includes('issuer')) return 'comes from an unexpected issuer (check idpIssuer)';
  if (m.includes('saml provider returned')) return 'says the sign-in did not succeed';
  return 'is not a valid SAML response';
}

/** Factory for `{ type: 'saml' }` providers. */
export async function createSamlProvider(
  raw: Record<string, unknown>,
  deps: ProviderDeps,
): Promise<RedirectProvider> {
  return new SamlProvider(parseSamlSettings(raw, deps.publicUrl), deps.logger);
}
