/**
 * A minimal SAML 2.0 identity provider for tests, on 127.0.0.1 (random port):
 *
 *   GET  /sso?SAMLRequest=…&RelayState=…  (HTTP-Redirect binding) → a login form
 *   POST /sso/login (SAMLRequest, RelayState, username[, tamper])  → an
 *        auto-submitting form that POSTs a signed Response to the SP's ACS URL
 *
 * The assertion is signed with xml-crypto (exclusive c14n, rsa-sha256) by a
 * self-signed key made with the openssl CLI. `tamper` makes the answer wrong
 * in one way, for negative tests. A browser can drive the same pages.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { runChecked } from '../../src/exec/index.js';

export interface SamlTestUser {
  username: string;
  email: string;
  groups: string[];
  /** Defaults to username. */
  nameId?: string;
}

/**
 * - `signature`: the assertion is changed after signing (NameID swapped);
 * - `unsigned`: no signature at all;
 * - `wrongKey`: signed, but by a key other than the IdP's published certificate;
 * - `audience`: the assertion names another service as its audience;
 * - `expired`: issued 20 minutes ago, NotOnOrAfter 10 minutes ago;
 * - `inResponseTo`: answers a request id the SP never sent.
 */
export type SamlTamper = 'signature' | 'unsigned' | 'wrongKey' | 'audience' | 'expired' | 'inResponseTo';

export interface SamlLoginResult {
  /** Where the form posts: the SP's assertion consumer service URL. */
  acsUrl: string;
  fields: { SAMLResponse: string; RelayState: string };
}

export interface SamlIdp {
  /** The IdP SSO URL (config `entryPoint`). */
  entryPoint: string;
  /** The IdP entity id (config `idpIssuer`). */
  issuer: string;
  /** PEM certificate the IdP signs with (config `idpCert`). */
  cert: string;
  /** The same certificate as a file. */
  certPath: string;
  /** The AuthnRequests received, newest last. */
  requests: { id: string; acsUrl: string; issuer: string }[];
  /**
   * Follows Gantry's `/auth/NAME/start` URL to this IdP, signs `username` in
   * and returns the form the browser would auto-submit (not posted).
   */
  login(startUrl: string, username: string, opts?: { tamper?: SamlTamper }): Promise<SamlLoginResult>;
  close(): Promise<void>;
}

interface KeyPair {
  key: string;
  cert: string;
  certPath: string;
}

async function selfSigned(dir: string, name: string): Promise<KeyPair> {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  await runChecked(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2'].concat([
      '-subj',
      `/CN=${name}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]),
    { timeoutMs: 30_000 },
  );
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8'), certPath };
}

const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

const newId = (): string => `_${randomBytes(16).toString('hex')}`;

function hiddenForm(action: string, fields: Record<string, string>, extra = '', auto = false): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test SAML IdP</title></head>
<body${auto ? ' onload="document.forms[0].submit()"' : ''}>
<form method="post" action="${esc(action)}">
${inputs}
${extra}
</form></body></html>`;
}

/** Hidden inputs and action of a form page. */
function parseForm(html: string): { action: string; fields: Record<string, string> } {
  const unesc = (s: string): string =>
    s.replace(
      /&(amp|lt|gt|quot|apos);/g,
      (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!,
    );
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`no form in IdP page: ${html.slice(0, 200)}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    fields[unesc(m[1]!)] = unesc(m[2]!);
  return { action: unesc(action), fields };
}

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function parseAuthnRequest(samlRequest: string): { id: string; acsUrl: string; issuer: string } {
  const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
  const id = /<samlp:AuthnRequest[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
  const acsUrl = /\sAssertionConsumerServiceURL="([^"]+)"/.exec(xml)?.[1];
  const issuer = /<saml:Issuer[^>]*>([^<]+)<\/saml:Issuer>/.exec(xml)?.[1];
  if (!id || !acsUrl || !issuer)
    throw new Error(`not an AuthnRequest this IdP understands: ${xml.slice(0, 300)}`);
  return { id, acsUrl, issuer };
}

export async function startSamlIdp(opts: { users: SamlTestUser[] }): Promise<SamlIdp> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-saml-idp-'));
  const [keys, otherKeys] = await Promise.all([selfSigned(dir, 'test-idp'), selfSigned(dir, 'impostor')]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/metadata`;
  const requests: SamlIdp['requests'] = [];

  const response = (
    req: { id: string; acsUrl: string; issuer: string },
    user: SamlTestUser,
    tamper: SamlTamper | undefined,
  ): string => {
    const now = Date.now() - (tamper === 'expired' ? 20 * 60_000 : 0);
    const t = (ms: number): string => new Date(now + ms).toISOString();
    const inResponseTo = tamper === 'inResponseTo' ? newId() : req.id;
    const audience = tamper === 'audience' ? 'https://other.example/sp' : req.issuer;
    const nameId = user.nameId ?? user.username;
    const attr = (name: string, values: string[]): string =>
      `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values
        .map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`)
        .join('')}</saml:Attribute>`;
    const assertionId = newId();
    const assertion =
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" Version="2.0" IssueInstant="${t(0)}">` +
      `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${esc(nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
      `<saml:SubjectConfirmationData InResponseTo="${inResponseTo}" Recipient="${esc(req.acsUrl)}" NotOnOrAfter="${t(10 * 60_000)}"/>` +
      `</saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${t(-60_000)}" NotOnOrAfter="${t(10 * 60_000)}">` +
      `<saml:AudienceRestriction><saml:Audience>${esc(audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${t(0)}" SessionIndex="${newId()}"><saml:AuthnContext>` +
      `<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>` +
      `</saml:AuthnContext></saml:AuthnStatement>` +
      `<saml:AttributeStatement>${attr('email', [user.email])}${attr('groups', user.groups)}</saml:AttributeStatement>` +
      `</saml:Assertion>`;
    const xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ` +
      `ID="${newId()}" Version="2.0" IssueInstant="${t(0)}" Destination="${esc(req.acsUrl)}" InResponseTo="${inResponseTo}">` +
      `<saml:Issuer>${esc(issuer)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      assertion +
      `</samlp:Response>`;
    if (tamper === 'unsigned') return xml;
    const signer = tamper === 'wrongKey' ? otherKeys : keys;
    const sig = new SignedXml({
      privateKey: signer.key,
      publicCert: signer.cert,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    sig.addReference({
      xpath: `//*[local-name(.)='Assertion']`,
      transforms: [
        'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
        'http://www.w3.org/2001/10/xml-exc-c14n#',
      ],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(xml, {
      prefix: 'ds',
      location: { reference: `//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']`, action: 'after' },
    });
    let signed = sig.getSignedXml();
    if (tamper === 'signature')
      signed = signed.replace(`>${esc(nameId)}</saml:NameID>`, '>root</saml:NameID>');
    return signed;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (req.method === 'GET' && url.pathname === '/sso') {
      const samlRequest = url.searchParams.get('SAMLRequest') ?? '';
      parseAuthnRequest(samlRequest);
      const fields = { SAMLRequest: samlRequest, RelayState: url.searchParams.get('RelayState') ?? '' };
      res.end(
        hiddenForm(
          '/sso/login',
          fields,
          '<label>Username <input name="username"></label><button type="submit">Sign in</button>',
        ),
      );
      return;
    }
    if (req.method === 'POST' && url.pathname === '/sso/login') {
      const form = await readBody(req);
      const authn = parseAuthnRequest(form.get('SAMLRequest') ?? '');
      requests.push(authn);
      const user = opts.users.find((u) => u.username === form.get('username'));
      if (!user) {
        res.statusCode = 401;
        res.end('unknown user');
        return;
      }
      const tamper = (form.get('tamper') ?? undefined) as SamlTamper | undefined;
      const xml = response(authn, user, tamper);
      res.end(
        hiddenForm(
          authn.acsUrl,
          {
            SAMLResponse: Buffer.from(xml, 'utf8').toString('base64'),
            RelayState: form.get('RelayState') ?? '',
          },
          '<noscript><button type="submit">Continue</button></noscript>',
          true,
        ),
      );
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      res.statusCode = 400;
      res.end(`IdP error: ${(e as Error).message}`);
    });
  });

  return {
    entryPoint: `${base}/sso`,
    issuer,
    cert: keys.cert,
    certPath: keys.certPath,
    requests,
    async login(startUrl, username, loginOpts = {}) {
      const start = await fetch(startUrl, { redirect: 'manual' });
      await start.body?.cancel();
      const location = start.headers.get('location');
      if (start.status !== 302 || location === null)
        throw new Error(`${startUrl} answered ${start.status}, not a redirect to the IdP`);
      const page = await fetch(location, { redirect: 'manual' });
      const loginForm = parseForm(await page.text());
      if (page.status !== 200) throw new Error(`IdP login page answered ${page.status}`);
      const body = new URLSearchParams({ ...loginForm.fields, username });
      if (loginOpts.tamper) body.set('tamper', loginOpts.tamper);
      const done = await fetch(new URL(loginForm.action, location), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      });
      const html = await done.text();
      if (done.status !== 200)
        throw new Error(`IdP refused ${username}: ${done.status} ${html.slice(0, 200)}`);
      const { action, fields } = parseForm(html);
      return {
        acsUrl: action,
        fields: { SAMLResponse: fields.SAMLResponse ?? '', RelayState: fields.RelayState ?? '' },
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
