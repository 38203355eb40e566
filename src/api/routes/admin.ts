/**
 * Admin operations: the audit log, master-key rotation, the resource
 * overview, every user's tokens and the SSO providers' health.
 */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import type { TokenInfo } from '../../identity/types.js';
import {
  AuditEventBody,
  ResourceOverviewBody,
  SsoStatusBody,
  TokenInfoBody,
  errorResponses,
} from '../schemas.js';
import { actorOf, type ApiPlugin, type SsoStatusSource } from '../types.js';

const AuditQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    before: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'ISO-8601 time' })),
  },
  { additionalProperties: false },
);

export interface AdminRoutesOptions {
  /** Re-encrypts every secret under a new master key; absent when the server cannot rotate. */
  rotateMasterKey?: () => Promise<{ keyId: string; reencrypted: number }>;
  /** The SSO providers' health; absent when the server has none configured. */
  sso?: SsoStatusSource;
}

const noSuchProvider = (name: string): GantryError =>
  new GantryError('GANTRY_NOT_FOUND', `no SSO provider named ${name}`);

export const adminRoutes: ApiPlugin<AdminRoutesOptions> = async (app, opts) => {
  const { platform, directory, rotateMasterKey, sso } = opts;

  app.get(
    '/audit',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Audit log, newest first',
        tags: ['admin'],
        querystring: AuditQuery,
        response: { 200: Type.Object({ events: Type.Array(AuditEventBody) }), ...errorResponses },
      },
    },
    async (request) => ({ events: await directory.listAudit(request.query) }),
  );

  app.post(
    '/admin/master-key/rotate',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Re-encrypt every secret under a new master key',
        tags: ['admin'],
        response: {
          200: Type.Object({ keyId: Type.String(), reencrypted: Type.Integer() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      if (!rotateMasterKey) {
        throw new GantryError('GANTRY_UNSUPPORTED', 'this server has no master key to rotate');
      }
      const result = await rotateMasterKey();
      await directory.audit(actorOf(request), 'secrets.rotate', null, { ...result });
      return result;
    },
  );

  app.get(
    '/admin/overview',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Every app's processes, CPU, memory and traffic, busiest first",
        tags: ['admin'],
        response: { 200: ResourceOverviewBody, ...errorResponses },
      },
    },
    async () => {
      const overview = await platform.overview();
      // Owners as the directory knows them (what GET /api/apps shows), by username.
      const apps = overview.apps.map((a) => ({ ...a, owner: directory.appAccess(a.name)?.owner ?? a.owner }));
      return { ...overview, apps };
    },
  );

  app.get(
    '/admin/tokens',
    {
      config: { access: 'admin' },
      schema: {
        summary: "Every user's API tokens, newest first (never the tokens themselves)",
        tags: ['admin'],
        response: {
          200: Type.Object({
            tokens: Type.Array(Type.Composite([TokenInfoBody, Type.Object({ username: Type.String() })])),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const tokens: (TokenInfo & { username: string })[] = [];
      for (const { username } of directory.listUsers()) {
        for (const t of directory.listTokens(username)) tokens.push({ ...t, username });
      }
      tokens.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
      return { tokens };
    },
  );

  app.get(
    '/admin/sso',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'SSO providers with their last check, logins and failures',
        tags: ['admin'],
        response: { 200: Type.Object({ providers: Type.Array(SsoStatusBody) }), ...errorResponses },
      },
    },
    async () => ({ providers: sso?.list() ?? [] }),
  );

  app.post(
    '/admin/sso/:name/check',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Check an SSO provider now (OIDC discovery, LDAP bind, SAML certificate)',
        tags: ['admin'],
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 200: SsoStatusBody, ...errorResponses },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (!sso || !sso.list().some((p) => p.name === name)) throw noSuchProvider(name);
      return sso.check(name);
    },
  );
};
