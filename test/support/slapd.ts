/**
 * A real OpenLDAP server (Debian's slapd) for tests: a temp dir with an mdb
 * database loaded by `slapadd`, a throwaway CA and server certificate made with
 * the `openssl` CLI, and slapd running in the foreground on 127.0.0.1 (plain
 * LDAP with StartTLS, and LDAPS). `close()` stops it and removes the dir.
 *
 * Directory layout (base `dc=gantry,dc=test`):
 * - `cn=admin,…` rootdn (not an entry), `cn=service,…` a search-only service account;
 * - `ou=people,…` users (`inetOrgPerson`, `uid=NAME`, SSHA password);
 * - `ou=groups,…` groups (`groupOfNames` with `member` DNs, or `posixGroup` with `memberUid`).
 *
 * memberOf: the real `memberof` overlay is configured, so groups added or changed
 * over LDAP while slapd runs update their members' `memberOf`. slapadd bypasses
 * overlays, so for the initial data this helper writes the same `memberOf` values
 * the overlay would have (one per `groupOfNames` group a user is in).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runChecked, spawnProcess } from '../../src/exec/index.js';

export interface SlapdUser {
  uid: string;
  password: string;
  mail?: string;
  cn?: string;
}

export interface SlapdGroup {
  cn: string;
  /** uids (members need not exist as users). */
  members: string[];
  /** Default `groupOfNames` (member DNs); `posixGroup` stores `memberUid` names. */
  kind?: 'groupOfNames' | 'posixGroup';
}

/** Many groups without building the array: `generate(i)` for i in [0, count). */
export interface SlapdGroupGenerator {
  count: number;
  generate(i: number): SlapdGroup;
}

export interface StartSlapdOptions {
  users?: SlapdUser[];
  groups?: SlapdGroup[] | SlapdGroupGenerator;
  /** Certificates, StartTLS and an ldaps:// listener. Default true. */
  tls?: boolean;
  /** Lets anonymous clients search (everything but passwords). Default false: only the service account and bound users may. */
  anonymousRead?: boolean;
  /** slapd's `sizelimit` for everyone but the rootdn (also caps paged searches). Default unlimited. */
  sizeLimit?: number;
}

export interface Slapd {
  /** `ldap://127.0.0.1:PORT` (StartTLS available when tls). */
  url: string;
  /** `ldaps://127.0.0.1:PORT`; undefined when tls is false. */
  ldapsUrl: string | undefined;
  /** PEM of the CA that signed the server certificate (SAN IP:127.0.0.1, DNS:localhost); undefined when tls is false. */
  caPem: string | undefined;
  baseDn: string;
  userBase: string;
  groupBase: string;
  adminDn: string;
  adminPassword: string;
  /** A plain entry with read access to the whole tree (not to passwords). */
  serviceDn: string;
  servicePassword: string;
  /** DN of the user with this uid. */
  userDn(uid: string): string;
  /** The temp dir holding config, database and certificates. */
  dir: string;
  close(): Promise<void>;
}

const BASE_DN = 'dc=gantry,dc=test';
const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

/** Escapes an RDN attribute value (RFC 4514). */
export function escapeRdnValue(v: string): string {
  return v
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ')
    .replace(/\0/g, '\\00');
}

/** `attr: value`, or `attr:: base64` when the value is not an LDIF SAFE-STRING (RFC 2849). */
function ldifLine(attr: string, value: string): string {
  const safe =
    !/^[ :<]/.test(value) &&
    !value.endsWith(' ') &&
    [...value].every((c) => {
      const n = c.charCodeAt(0);
      return n > 0 && n < 128 && c !== '\n' && c !== '\r';
    });
  return safe ? `${attr}: ${value}` : `${attr}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

function ldifEntry(dn: string, attrs: [string, string][]): string {
  return [ldifLine('dn', dn), ...attrs.map(([a, v]) => ldifLine(a, v))].join('\n') + '\n\n';
}

function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface TestCa {
  certPath: string;
  keyPath: string;
  pem: string;
}

/** A throwaway certificate authority (EC P-256) made with the openssl CLI, in `dir`. */
export async function makeTestCa(dir: string, name = 'Gantry Test CA'): Promise<TestCa> {
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca.key');
  await runChecked('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certPath, keyPath, pem: await readFile(certPath, 'utf8') };
}

/** A server certificate for 127.0.0.1 / localhost signed by `ca`. */
async function makeServerCert(dir: string, ca: TestCa): Promise<{ certPath: string; keyPath: string }> {
  const keyPath = join(dir, 'server.key');
  const csrPath = join(dir, 'server.csr');
  const certPath = join(dir, 'server.pem');
  const extPath = join(dir, 'server.ext');
  await runChecked('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    csrPath,
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(
    extPath,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  await runChecked('openssl', [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-CAcreateserial',
    '-out',
    certPath,
    '-days',
    '2',
    '-extfile',
    extPath,
  ]);
  return { certPath, keyPath };
}

function buildLdif(opts: StartSlapdOptions, dns: { service: string; servicePassword: string }): string {
  const userBase = `ou=people,${BASE_DN}`;
  const groupBase = `ou=groups,${BASE_DN}`;
  const userDn = (uid: string): string => `uid=${escapeRdnValue(uid)},${userBase}`;
  const parts: string[] = [
    ldifEntry(BASE_DN, [
      ['objectClass', 'dcObject'],
      ['objectClass', 'organization'],
      ['dc', 'gantry'],
      ['o', 'Gantry test'],
    ]),
    ldifEntry(userBase, [
      ['objectClass', 'organizationalUnit'],
      ['ou', 'people'],
    ]),
    ldifEntry(groupBase, [
      ['objectClass', 'organizationalUnit'],
      ['ou', 'groups'],
    ]),
    ldifEntry(dns.service, [
      ['objectClass', 'organizationalRole'],
      ['objectClass', 'simpleSecurityObject'],
      ['cn', 'service'],
      ['userPassword', sshaHash(dns.servicePassword)],
    ]),
  ];
  const memberOf = new Map<string, string[]>();
  const groupSpecs = opts.groups ?? [];
  const count = Array.isArray(groupSpecs) ? groupSpecs.length : groupSpecs.count;
  for (let i = 0; i < count; i++) {
    const g = Array.isArray(groupSpecs) ? groupSpecs[i]! : groupSpecs.generate(i);
    const dn = `cn=${escapeRdnValue(g.cn)},${groupBase}`;
    if (g.kind === 'posixGroup') {
      parts.push(
        ldifEntry(dn, [
          ['objectClass', 'posixGroup'],
          ['cn', g.cn],
          ['gidNumber', String(10000 + i)],
          ...g.members.map((m): [string, string] => ['memberUid', m]),
        ]),
      );
      continue;
    }
    for (const m of g.members) {
      const list = memberOf.get(m) ?? [];
      list.push(dn);
      memberOf.set(m, list);
    }
    // groupOfNames requires a member: an empty group holds the empty DN, as usual with OpenLDAP.
    const members = g.members.length ? g.members.map(userDn) : [''];
    parts.push(
      ldifEntry(dn, [
        ['objectClass', 'groupOfNames'],
        ['cn', g.cn],
        ...members.map((m): [string, string] => ['member', m]),
      ]),
    );
  }
  for (const u of opts.users ?? []) {
    const attrs: [string, string][] = [
      ['objectClass', 'inetOrgPerson'],
      ['uid', u.uid],
      ['cn', u.cn ?? u.uid],
      ['sn', u.uid],
      ['userPassword', sshaHash(u.password)],
    ];
    if (u.mail) attrs.push(['mail', u.mail]);
    for (const g of memberOf.get(u.uid) ?? []) attrs.push(['memberOf', g]);
    parts.push(ldifEntry(userDn(u.uid), attrs));
  }
  return parts.join('');
}

function slapdConf(o: {
  dir: string;
  serviceDn: string;
  adminDn: string;
  adminPassword: string;
  tls?: { caPath: string; certPath: string; keyPath: string };
  anonymousRead: boolean;
  sizeLimit?: number;
}): string {
  const lines = [
    ...SCHEMAS.map((s) => `include /etc/ldap/schema/${s}.schema`),
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    `pidfile ${join(o.dir, 'slapd.pid')}`,
    `argsfile ${join(o.dir, 'slapd.args')}`,
    `sizelimit ${o.sizeLimit ?? 'unlimited'}`,
  ];
  if (o.tls) {
    lines.push(
      `TLSCACertificateFile ${o.tls.caPath}`,
      `TLSCertificateFile ${o.tls.certPath}`,
      `TLSCertificateKeyFile ${o.tls.keyPath}`,
    );
  }
  lines.push(
    'database mdb',
    'maxsize 1073741824',
    `suffix "${BASE_DN}"`,
    `rootdn "${o.adminDn}"`,
    `rootpw ${o.adminPassword}`,
    `directory ${join(o.dir, 'db')}`,
    'index objectClass eq',
    'index uid,cn,mail,memberUid eq',
    'index member,uniqueMember eq',
    'access to attrs=userPassword by anonymous auth by * none',
    `access to * by dn.exact="${o.serviceDn}" read by users read${o.anonymousRead ? ' by anonymous read' : ''} by * none`,
    'overlay memberof',
    'memberof-group-oc groupOfNames',
    'memberof-member-ad member',
    'memberof-memberof-ad memberOf',
    'memberof-refint TRUE',
    '',
  );
  return lines.join('\n');
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`slapd exited (${child.exitCode ?? child.signalCode}): ${stderr().trim().slice(-500)}`);
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`slapd did not listen on 127.0.0.1:${port} within 10 s: ${stderr().trim().slice(-500)}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts a populated slapd. Call `close()` (in `after()`) to stop it and delete its files. */
export async function startSlapd(opts: StartSlapdOptions = {}): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-slapd-'));
  try {
    return await startIn(dir, opts);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function startIn(dir: string, opts: StartSlapdOptions): Promise<Slapd> {
  const tlsOn = opts.tls ?? true;
  const adminDn = `cn=admin,${BASE_DN}`;
  const adminPassword = `admin-${randomBytes(6).toString('hex')}`;
  const serviceDn = `cn=service,${BASE_DN}`;
  const servicePassword = `service-${randomBytes(6).toString('hex')}`;
  await mkdir(join(dir, 'db'));

  let tls: { caPath: string; certPath: string; keyPath: string; caPem: string } | undefined;
  if (tlsOn) {
    const ca = await makeTestCa(dir);
    const server = await makeServerCert(dir, ca);
    tls = { caPath: ca.certPath, ...server, caPem: ca.pem };
  }
  const confPath = join(dir, 'slapd.conf');
  await writeFile(
    confPath,
    slapdConf({
      dir,
      serviceDn,
      adminDn,
      adminPassword,
      tls,
      anonymousRead: opts.anonymousRead ?? false,
      sizeLimit: opts.sizeLimit,
    }),
  );
  const ldifPath = join(dir, 'data.ldif');
  await writeFile(ldifPath, buildLdif(opts, { service: serviceDn, servicePassword }));
  await runChecked('slapadd', ['-q', '-f', confPath, '-l', ldifPath]);

  // The ports are free when picked; another process could take one before slapd binds: retry.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const tlsPort = tlsOn ? await freePort() : undefined;
    const urls = [`ldap://127.0.0.1:${port}/`, ...(tlsPort ? [`ldaps://127.0.0.1:${tlsPort}/`] : [])];
    const child = spawnProcess('slapd', ['-d', '0', '-h', urls.join(' '), '-f', confPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-4000);
    });
    child.on('error', (e) => {
      stderr += `\n${e.message}`;
    });
    try {
      await waitForPort(port, child, () => stderr);
      if (tlsPort) await waitForPort(tlsPort, child, () => stderr);
    } catch (e) {
      await stop(child);
      if (attempt < 3 && /bind|address already in use/i.test(String(e))) continue;
      throw e;
    }
    let closed: Promise<void> | undefined;
    return {
      url: `ldap://127.0.0.1:${port}`,
      ldapsUrl: tlsPort ? `ldaps://127.0.0.1:${tlsPort}` : undefined,
      caPem: tls?.caPem,
      baseDn: BASE_DN,
      userBase: `ou=people,${BASE_DN}`,
      groupBase: `ou=groups,${BASE_DN}`,
      adminDn,
      adminPassword,
      serviceDn,
      servicePassword,
      userDn: (uid) => `uid=${escapeRdnValue(uid)},ou=people,${BASE_DN}`,
      dir,
      close: () =>
        (closed ??= (async () => {
          await stop(child);
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  }
}
