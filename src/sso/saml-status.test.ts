/** SAML health: the certificate check, and the sign-in outcomes ssoRoutes reports against a real IdP. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { runChecked } from '../exec/index.js';
import { silentLogger } from '../log/index.js';
import { startSamlIdp, type SamlIdp, type SamlLoginResult } from '../../test/support/saml-idp.js';
import { createSamlProvider } from './saml.js';
import { ssoRoutes } from './routes.js';
import { SsoStatusTracker } from './status.js';

/** A self-signed certificate valid from `start` to `end` (openssl ca can date certificates freely; req cannot). */
async function datedCert(dir: string, name: string, start: string, end: string): Promise<string> {
  const db = join(dir, `${name}-db`);
  await mkdir(db, { recursive: true });
  await writeFile(join(db, 'index.txt'), '');
  await writeFile(join(db, 'serial'), '01\n');
  const cnf = join(dir, `${name}.cnf`);
  await writeFile(
    cnf,
    `[ca]\ndefault_ca = x\n[x]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}\nserial = ${db}/serial\n` +
      `default_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n`,
  );
  const [key, csr, crt] = ['key', 'csr', 'crt'].map((e) => join(dir, `${name}.${e}`)) as [
    string,
    string,
    string,
  ];
  const opts = { timeoutMs: 30_000 };
  await runChecked(
    'openssl',
    ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr],
    opts,
  );
  await runChecked(
    'openssl',
    ['ca', '-batch', '-config', cnf, '-selfsign', '-keyfile', key, '-in', csr, '-notext', '-out', crt].concat(
      ['-startdate', start, '-enddate', end],
    ),
    opts,
  );
  return readFile(crt, 'utf8');
}

describe('SAML certificate check', () => {
  let dir: string;
  let idp: SamlIdp;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gantry-saml-status-'));
    idp = await startSamlIdp({ users: [] });
  });
  after(async () => {
    await idp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const checked = async (idpCert: string) => {
    const p = await createSamlProvider(
      { type: 'saml', name: 'corp', entryPoint: 'https://idp.example/sso', idpCert },
      { publicUrl: 'https://gantry.example', logger: silentLogger },
    );
    return new SsoStatusTracker({ providers: [p] }).check('corp');
  };

  test('a valid certificate: ok, saying when it expires', async () => {
    const s = await checked(idp.cert);
    assert.equal(s.status, 'ok', s.detail);
    assert.match(
      s.detail,
      /^entry point https:\/\/idp\.example\/sso; 1 IdP certificate: CN=test-idp valid until \d{4}-\d\d-\d\dT/,
    );
  });

  test('an expired certificate is an error with its expiry date', async () => {
    const expired = await datedCert(dir, 'old-idp', '20200101000000Z', '20200201000000Z');
    const s = await checked(expired);
    assert.equal(s.status, 'error');
    assert.equal(
      s.detail,
      'SAML provider "corp" is not usable: the IdP certificate CN=old-idp expired on 2020-02-01T00:00:00.000Z; ' +
        'put the current one in "idpCert"',
    );
  });

  test('during a rollover every certificate must be valid; one not valid yet is named', async () => {
    const future = await datedCert(dir, 'next-idp', '20990101000000Z', '20991231000000Z');
    const s = await checked(idp.cert + future);
    assert.equal(s.status, 'error');
    assert.match(s.detail, /the IdP certificate CN=next-idp is not valid before 2099-01-01T00:00:00\.000Z/);
    const both = await checked(idp.cert + idp.cert);
    assert.match(both.detail, /; 2 IdP certificates: CN=test-idp valid until .*; CN=test-idp valid until/);
  });
});

describe('SAML sign-ins reported by ssoRoutes', () => {
  let idp: SamlIdp;
  let server: Server;
  let app: FastifyInstance;
  let tracker: SsoStatusTracker;
  let start: string;

  before(async () => {
    idp = await startSamlIdp({ users: [{ username: 'alice', email: 'a@corp.example', groups: [] }] });
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = await createSamlProvider(
      {
        type: 'saml',
        name: 'corp',
        entryPoint: idp.entryPoint,
        idpIssuer: idp.issuer,
        idpCert: idp.cert,
        allowHttp: true,
      },
      { publicUrl, logger: silentLogger },
    );
    tracker = new SsoStatusTracker({ providers: [provider] });
    app = Fastify({
      serverFactory: (handler) => {
        server.on('request', handler);
        return server;
      },
    });
    await app.register(ssoRoutes, {
      providers: [provider],
      publicUrl,
      logger: silentLogger,
      observer: tracker,
      onLogin: async (_ext, _p, _request, reply, next) => {
        await reply.redirect(next, 303);
      },
    });
    await app.ready();
    start = `${publicUrl}/auth/corp/start`;
  });

  after(async () => {
    await app?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await idp?.close();
  });

  const post = (r: SamlLoginResult): Promise<Response> =>
    fetch(r.acsUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...r.fields }).toString(),
    });
  const corp = () => tracker.list()[0]!;

  test('a replayed answer is a failure, not an error; a foreign signature is an error; success clears it', async () => {
    const first = await idp.login(start, 'alice');
    assert.equal((await post(first)).status, 303);
    assert.deepEqual([corp().status, corp().logins], ['ok', 1]);

    const replay = await idp.login(start, 'alice', { tamper: 'inResponseTo' });
    assert.equal((await post(replay)).status, 401);
    assert.deepEqual([corp().status, corp().failures], ['ok', 1]);

    const forged = await idp.login(start, 'alice', { tamper: 'wrongKey' });
    assert.equal((await post(forged)).status, 401);
    assert.deepEqual([corp().status, corp().failures], ['error', 2]);
    assert.match(corp().detail, /not signed with the configured certificate/);

    assert.equal((await post(await idp.login(start, 'alice'))).status, 303);
    assert.deepEqual([corp().status, corp().logins], ['ok', 2]);
  });
});
