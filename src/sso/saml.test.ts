import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { isGantryError } from '../errors/index.js';
import type { ExternalIdentity } from '../identity/types.js';
import { startSamlIdp, type SamlIdp, type SamlLoginResult } from '../../test/support/saml-idp.js';
import { createSamlProvider, parseSamlSettings } from './saml.js';
import { ssoRoutes } from './routes.js';
import type { RedirectProvider } from './types.js';

interface Sp {
  publicUrl: string;
  logins: ExternalIdentity[];
  failures: string[];
  close(): Promise<void>;
}

/** Gantry's side: ssoRoutes on a real port, with an onLogin that records the identity and sets a cookie. */
async function startSp(makeProviders: (publicUrl: string) => Promise<RedirectProvider[]>): Promise<Sp> {
  let server: Server | undefined;
  const app: FastifyInstance = Fastify({
    serverFactory: (handler) => {
      server = createServer(handler);
      return server;
    },
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const publicUrl = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  const logins: ExternalIdentity[] = [];
  const failures: string[] = [];
  await app.register(ssoRoutes, {
    providers: await makeProviders(publicUrl),
    publicUrl,
    logger: silentLogger,
    onLogin: async (ext, _provider, _request, reply, next) => {
      logins.push(ext);
      await reply
        .header('set-cookie', `gantry_session=s-${ext.username}; Path=/; HttpOnly`)
        .redirect(next, 303);
    },
    onFailure: ({ reason }) => {
      failures.push(reason);
    },
  });
  await app.ready();
  return {
    publicUrl,
    logins,
    failures,
    async close() {
      await app.close();
      // Fastify closes only servers it listened on itself.
      server!.closeAllConnections();
      await new Promise<void>((resolve, reject) => server!.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

const post = (r: SamlLoginResult, fields: Partial<SamlLoginResult['fields']> = {}): Promise<Response> =>
  fetch(r.acsUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...r.fields, ...fields }).toString(),
  });

describe('SAML single sign-on against a real IdP', () => {
  let idp: SamlIdp;
  let sp: Sp;
  let start: string;

  before(async () => {
    idp = await startSamlIdp({
      users: [
        { username: 'alice', email: 'alice@corp.example', groups: ['eng', 'analysts', 'CN=Admins,OU=x'] },
        { username: 'bob', email: 'bob@corp.example', groups: [] },
      ],
    });
    sp = await startSp(async (publicUrl) => [
      await createSamlProvider(
        {
          type: 'saml',
          name: 'corp',
          label: 'Corp SSO',
          entryPoint: idp.entryPoint,
          idpIssuer: idp.issuer,
          idpCert: idp.cert,
          allowHttp: true,
        },
        { publicUrl, logger: silentLogger },
      ),
    ]);
    start = `${sp.publicUrl}/auth/corp/start`;
  });

  after(async () => {
    await sp?.close();
    await idp?.close();
  });

  test('a full login reports username, email and groups and lands on `next`', async () => {
    const r = await idp.login(`${start}?next=${encodeURIComponent('/apps/demo/?tab=1')}`, 'alice');
    assert.equal(r.acsUrl, `${sp.publicUrl}/auth/corp/callback`);
    const req = idp.requests.at(-1)!;
    assert.equal(req.issuer, `${sp.publicUrl}/auth/corp/metadata`);
    const res = await post(r);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/apps/demo/?tab=1');
    assert.match(res.headers.get('set-cookie') ?? '', /gantry_session=s-alice/);
    assert.deepEqual(sp.logins.at(-1), {
      provider: 'corp',
      subject: 'alice',
      username: 'alice',
      email: 'alice@corp.example',
      groups: ['analysts', 'eng'],
    });
  });

  test('a response posted twice is refused the second time', async () => {
    const r = await idp.login(start, 'bob');
    assert.equal((await post(r)).status, 303);
    const count = sp.logins.length;
    const again = await post(r);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /expired or was already used/);
    assert.equal(sp.logins.length, count);
  });

  test("a response replayed into another login's RelayState fails InResponseTo", async () => {
    const first = await idp.login(start, 'alice');
    const second = await idp.login(start, 'bob');
    const res = await post(first, { RelayState: second.fields.RelayState });
    assert.equal(res.status, 401);
    assert.match(await res.text(), /does not match a sign-in started here/);
  });

  test('an unknown RelayState is refused', async () => {
    const r = await idp.login(start, 'alice');
    const res = await post(r, { RelayState: 'A'.repeat(43) });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(
      await res.text(),
      /Sign-in failed: this sign-in has expired or was already used\. <a href="\/login">Try again<\/a>/,
    );
  });

  const negative: [string, Parameters<SamlIdp['login']>[2], RegExp][] = [
    [
      'an assertion changed after signing',
      { tamper: 'signature' },
      /not signed with the configured certificate/,
    ],
    ['an unsigned assertion', { tamper: 'unsigned' }, /not signed with the configured certificate/],
    [
      'an assertion signed by another key',
      { tamper: 'wrongKey' },
      /not signed with the configured certificate/,
    ],
    ['an assertion for another audience', { tamper: 'audience' }, /audience mismatch/],
    ['an expired assertion', { tamper: 'expired' }, /has expired/],
    [
      'a response to a request never sent',
      { tamper: 'inResponseTo' },
      /does not match a sign-in started here/,
    ],
  ];
  for (const [what, opts, message] of negative) {
    test(`${what} is refused without revealing its contents`, async () => {
      const count = sp.logins.length;
      const r = await idp.login(start, 'alice', opts);
      const res = await post(r);
      const html = await res.text();
      assert.equal(res.status, 401, html);
      assert.match(html, message);
      assert.doesNotMatch(html, /alice|corp\.example|eng/);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.equal(sp.logins.length, count);
      assert.match(sp.failures.at(-1) ?? '', message);
    });
  }

  test('next=//evil.example ends at /', async () => {
    const r = await idp.login(`${start}?next=${encodeURIComponent('//evil.example/x')}`, 'alice');
    const res = await post(r);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/');
  });

  test('GET on the SAML callback and unknown providers get the failure page', async () => {
    const get = await fetch(`${sp.publicUrl}/auth/corp/callback?SAMLResponse=x`);
    assert.equal(get.status, 400);
    const unknown = await fetch(`${sp.publicUrl}/auth/nope/start`, { redirect: 'manual' });
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /not configured/);
  });

  test('a POST without a form is refused', async () => {
    const res = await fetch(`${sp.publicUrl}/auth/corp/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"RelayState":"x"}',
    });
    assert.equal(res.status, 400);
  });

  test('service-provider metadata names our entity id and ACS URL', async () => {
    const res = await fetch(`${sp.publicUrl}/auth/corp/metadata`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /samlmetadata\+xml/);
    const xml = await res.text();
    assert.ok(xml.includes(`entityID="${sp.publicUrl}/auth/corp/metadata"`), xml);
    assert.ok(xml.includes(`Location="${sp.publicUrl}/auth/corp/callback"`), xml);
    assert.ok(xml.includes('WantAssertionsSigned="true"'), xml);
  });
});

describe('SAML settings', () => {
  let idp: SamlIdp;
  let dir: string;
  before(async () => {
    idp = await startSamlIdp({ users: [] });
    dir = await mkdtemp(join(tmpdir(), 'gantry-saml-settings-'));
  });
  after(async () => {
    await idp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const base = (): Record<string, unknown> => ({
    type: 'saml',
    name: 'corp',
    entryPoint: 'https://idp.example/sso',
    idpCert: idp.cert,
  });

  test('defaults', () => {
    const s = parseSamlSettings(base(), 'https://gantry.example');
    assert.equal(s.spIssuer, 'https://gantry.example/auth/corp/metadata');
    assert.equal(s.usernameAttribute, 'NameID');
    assert.equal(s.defaultRole, 'viewer');
    assert.equal(s.wantAssertionsSigned, true);
    assert.equal(s.label, 'corp');
  });

  test('idpCert may be a file path or bare base64', async () => {
    assert.equal(parseSamlSettings({ ...base(), idpCert: idp.certPath }, 'https://g').idpCerts.length, 1);
    const b64 = idp.cert.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    assert.equal(parseSamlSettings({ ...base(), idpCert: b64 }, 'https://g').idpCerts.length, 1);
    const two = join(dir, 'two.pem');
    await writeFile(two, idp.cert + idp.cert);
    assert.equal(parseSamlSettings({ ...base(), idpCert: two }, 'https://g').idpCerts.length, 2);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['missing idpCert', { idpCert: undefined }, /provider "corp": "idpCert" is required/],
    ['unreadable idpCert', { idpCert: '/nonexistent/idp.pem' }, /"idpCert" is neither a PEM/],
    [
      'garbage PEM',
      { idpCert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' },
      /"idpCert" holds a certificate that cannot be read/,
    ],
    ['http entryPoint', { entryPoint: 'http://idp.example/sso' }, /"entryPoint" must be an https:\/\/ URL/],
    ['unknown field', { entrypoint: 'x' }, /"entrypoint" is not a known setting/],
    ['bad role', { defaultRole: 'root' }, /"defaultRole" must be one of admin, developer, viewer/],
    ['bad name', { name: 'Corp SSO' }, /"name" must be lowercase/],
  ];
  for (const [what, change, message] of bad) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => parseSamlSettings({ ...base(), ...change }, 'https://g'),
        (e: unknown) => isGantryError(e, 'GANTRY_INVALID_CONFIG') && message.test(e.message),
      );
    });
  }
});
