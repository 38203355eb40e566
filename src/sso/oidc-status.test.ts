/** OIDC health: the active check and the sign-in outcomes ssoRoutes reports, against a real oidc-provider. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { silentLogger } from '../log/index.js';
import { CookieJar, jarFetch, startOidcIdp, type OidcIdp } from '../../test/support/oidc-idp.js';
import { createOidcProvider } from './oidc.js';
import { ssoRoutes } from './routes.js';
import { SsoStatusTracker } from './status.js';
import type { RedirectProvider } from './types.js';

async function listening(): Promise<{ server: Server; url: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A URL nothing listens on. */
async function deadUrl(): Promise<string> {
  const { server, url } = await listening();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

const oidc = (name: string, issuer: string): Promise<RedirectProvider> =>
  createOidcProvider(
    { type: 'oidc', name, issuer, clientId: 'gantry', clientSecret: 'gantry-secret', allowHttp: true },
    { publicUrl: 'http://127.0.0.1', logger: silentLogger },
  );

describe('OIDC status against oidc-provider', () => {
  let idp: OidcIdp;
  let sp: { server: Server; url: string };
  let app: FastifyInstance;
  let tracker: SsoStatusTracker;

  before(async () => {
    sp = await listening();
    idp = await startOidcIdp({
      users: [{ sub: 'u-1', username: 'alice', email: 'a@corp.example', groups: [], password: 'pw-a' }],
      clientId: 'gantry',
      clientSecret: 'gantry-secret',
      redirectUris: [`${sp.url}/auth/okta/callback`],
    });
    const providers = [
      await oidc('okta', idp.issuer),
      await oidc('gone', await deadUrl()),
      // An http server that is not an IdP: Gantry's own port answers 404.
      await oidc('notidp', sp.url),
    ];
    tracker = new SsoStatusTracker({ providers, logger: silentLogger });
    app = Fastify({
      serverFactory: (handler) => {
        sp.server.on('request', handler);
        return sp.server;
      },
    });
    await app.register(ssoRoutes, {
      providers,
      publicUrl: sp.url,
      logger: silentLogger,
      observer: tracker,
      onLogin: async (ext, _p, _request, reply, next) => {
        await reply.header('set-cookie', `gantry_session=s-${ext.username}; Path=/`).redirect(next, 303);
      },
    });
    await app.ready();
  });

  after(async () => {
    await app?.close();
    sp?.server.closeAllConnections();
    await new Promise<void>((resolve) => (sp ? sp.server.close(() => resolve()) : resolve()));
    await idp?.close();
  });

  const status = (name: string) => tracker.list().find((s) => s.name === name)!;

  test('the check fetches the discovery document and counts the signing keys', async () => {
    const s = await tracker.check('okta');
    assert.equal(s.status, 'ok', s.detail);
    assert.equal(s.detail, `discovery document of ${idp.issuer}/ fetched; 1 signing key`);
    assert.ok(s.checkedAt);
  });

  test('a dead issuer is an error naming the URL and the reason', async () => {
    const s = await tracker.check('gone');
    assert.equal(s.status, 'error');
    assert.match(
      s.detail,
      /^OIDC provider "gone" is not usable: its discovery document at http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration cannot be fetched \(ECONNREFUSED/,
    );
  });

  test('a server that is not an identity provider is an error with its HTTP status', async () => {
    const s = await tracker.check('notidp');
    assert.equal(s.status, 'error');
    assert.match(s.detail, /its discovery document at .* answered HTTP 404/);
  });

  test('sign-ins are counted; a user cancelling is a failure but not an error', async () => {
    const jar = new CookieJar();
    const res = await jarFetch(jar, await idp.login(`${sp.url}/auth/okta/start`, 'alice', 'pw-a', jar));
    assert.equal(res.status, 303);
    let s = status('okta');
    assert.deepEqual([s.status, s.logins, s.failures], ['ok', 1, 0]);
    assert.ok(s.lastLoginAt);

    const started = await jarFetch(jar, `${sp.url}/auth/okta/start`);
    const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
    const denied = await jarFetch(jar, `${sp.url}/auth/okta/callback?error=access_denied&state=${state}`);
    assert.equal(denied.status, 401);
    s = status('okta');
    assert.deepEqual([s.status, s.logins, s.failures], ['ok', 1, 1]);
    assert.match(s.lastError ?? '', /did not sign you in \(access_denied\)/);

    // The SAML metadata route answers "not SAML" for OIDC providers: that is no sign-in.
    assert.equal((await fetch(`${sp.url}/auth/okta/metadata`)).status, 400);
    assert.equal(status('okta').failures, 1);
  });

  test("an unreachable issuer during sign-in makes the provider's status an error", async () => {
    const before = status('gone').failures;
    const res = await fetch(`${sp.url}/auth/gone/start`, { redirect: 'manual' });
    assert.equal(res.status, 500);
    const s = status('gone');
    assert.equal(s.status, 'error');
    assert.equal(s.failures, before + 1);
    assert.match(s.lastError ?? '', /cannot reach the identity provider "gone".*discovery of .* failed/);
  });
});
