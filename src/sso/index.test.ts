import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../log/index.js';
import { isGantryError } from '../errors/index.js';
import { createProviders, passwordProviders, redirectProviders, type ProviderFactory } from './index.js';
import type { PasswordProvider } from './types.js';

const deps = { publicUrl: 'https://gantry.example', logger: silentLogger };
const oidc = { type: 'oidc', name: 'okta', issuer: 'https://idp.example', clientId: 'c' };

function fakeLdap(closed: string[]): ProviderFactory {
  return async (raw) => {
    const p: PasswordProvider = {
      type: 'ldap',
      name: String(raw.name),
      label: 'LDAP',
      defaultRole: 'viewer',
      authenticate: async () => undefined,
      close: async () => {
        closed.push(String(raw.name));
      },
    };
    return p;
  };
}

const invalidConfig = (message: RegExp) => (e: unknown) =>
  isGantryError(e, 'GANTRY_INVALID_CONFIG') && message.test(e.message);

describe('createProviders', () => {
  test('builds every provider in order, with injected factories', async () => {
    const closed: string[] = [];
    const list = await createProviders([oidc, { type: 'ldap', name: 'corp-ldap' }], {
      ...deps,
      factories: { ldap: fakeLdap(closed) },
    });
    assert.deepEqual(
      list.map((p) => [p.type, p.name]),
      [
        ['oidc', 'okta'],
        ['ldap', 'corp-ldap'],
      ],
    );
    assert.deepEqual(
      redirectProviders(list).map((p) => p.name),
      ['okta'],
    );
    assert.deepEqual(
      passwordProviders(list).map((p) => p.name),
      ['corp-ldap'],
    );
  });

  test('an empty list builds nothing', async () => {
    assert.deepEqual(await createProviders([], deps), []);
  });

  test('duplicate names are refused and what was built is closed', async () => {
    const closed: string[] = [];
    await assert.rejects(
      createProviders(
        [
          { type: 'ldap', name: 'a' },
          { type: 'ldap', name: 'a' },
        ],
        { ...deps, factories: { ldap: fakeLdap(closed) } },
      ),
      invalidConfig(/provider "a": "name" is used by another provider/),
    );
    assert.deepEqual(closed, ['a']);
  });

  test('LDAP defaults to the real LDAP module, which validates its own settings', async () => {
    await assert.rejects(
      createProviders([{ type: 'ldap', name: 'corp' }], deps),
      (e: unknown) => isGantryError(e, 'GANTRY_INVALID_CONFIG') && /corp/.test(e.message),
    );
  });

  const bad: [string, unknown, RegExp][] = [
    ['a non-object', 'okta', /authProviders\[0\] must be an object/],
    ['a missing name', { type: 'oidc' }, /authProviders\[0\]: "name" is required/],
    [
      'an unknown type',
      { type: 'kerberos', name: 'k' },
      /provider "k": "type" must be one of ldap, oidc, saml/,
    ],
    [
      'a bad OIDC entry',
      { ...oidc, clientId: 7 },
      /oidc provider "okta": "clientId" must be a non-empty string/,
    ],
    [
      'a bad SAML entry',
      { type: 'saml', name: 's', entryPoint: 'https://i/sso' },
      /saml provider "s": "idpCert" is required/,
    ],
  ];
  for (const [what, entry, message] of bad) {
    test(`refuses ${what}`, async () => {
      await assert.rejects(createProviders([entry], deps), invalidConfig(message));
    });
  }
});
