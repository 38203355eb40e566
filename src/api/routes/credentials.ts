/** API tokens and SSH keys: the caller's own; admins may pass `?user=NAME`. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { parseScope } from '../../identity/types.js';
import type { FastifyRequest } from 'fastify';
import { ForUserQuery, SshKeyBody, TokenInfoBody, errorResponses } from '../schemas.js';
import { actorOf, identityOf, type ApiPlugin } from '../types.js';

/** Ten years: tokens that must not expire have no expiry at all. */
const MAX_EXPIRES_IN = 10 * 365 * 24 * 3600;

/** Whose tokens or keys: `?user=` (the access hook lets only admins name someone else) or the caller. */
function subject(request: FastifyRequest): string {
  const { user } = request.query as { user?: string };
  return user ?? identityOf(request).username;
}

export const credentialsRoutes: ApiPlugin = async (app, { directory }) => {
  app.get(
    '/tokens',
    {
      config: { access: 'self' },
      schema: {
        summary: 'List API tokens (never the tokens themselves)',
        tags: ['tokens'],
        querystring: ForUserQuery,
        response: { 200: Type.Object({ tokens: Type.Array(TokenInfoBody) }), ...errorResponses },
      },
    },
    async (request) => ({ tokens: directory.listTokens(subject(request)) }),
  );

  app.post(
    '/tokens',
    {
      config: { access: 'self' },
      schema: {
        summary: 'Create an API token; the token is shown once',
        tags: ['tokens'],
        querystring: ForUserQuery,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            scope: Type.Optional(
              Type.String({ description: 'full (default), read or app:NAME', maxLength: 100 }),
            ),
            expiresIn: Type.Optional(
              Type.Integer({ minimum: 60, maximum: MAX_EXPIRES_IN, description: 'seconds' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: Type.String(), info: TokenInfoBody }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, scope = 'full', expiresIn } = request.body;
      const parsed = parseScope(scope);
      if (!parsed) {
        throw new GantryError('GANTRY_BAD_REQUEST', `invalid scope "${scope}": use full, read or app:NAME`);
      }
      const expiresAt = expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000);
      const created = await directory.createToken(actorOf(request), subject(request), {
        name,
        scope: parsed,
        expiresAt,
      });
      return reply.status(201).send(created);
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { access: 'self' },
      schema: {
        summary: 'Revoke an API token',
        tags: ['tokens'],
        querystring: ForUserQuery,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await directory.revokeToken(actorOf(request), subject(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/keys',
    {
      config: { access: 'self' },
      schema: {
        summary: 'List SSH public keys (for git over SSH)',
        tags: ['keys'],
        querystring: ForUserQuery,
        response: { 200: Type.Object({ keys: Type.Array(SshKeyBody) }), ...errorResponses },
      },
    },
    async (request) => ({ keys: directory.listKeys(subject(request)) }),
  );

  app.post(
    '/keys',
    {
      config: { access: 'self' },
      schema: {
        summary: 'Add an SSH public key (one OpenSSH line, e.g. the contents of id_ed25519.pub)',
        tags: ['keys'],
        querystring: ForUserQuery,
        body: Type.Object(
          {
            publicKey: Type.String({ minLength: 1, maxLength: 16 * 1024 }),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: SshKeyBody }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { publicKey, name } = request.body;
      const key = await directory.addKey(actorOf(request), subject(request), publicKey, name);
      return reply.status(201).send({ key });
    },
  );

  app.delete(
    '/keys/:key',
    {
      config: { access: 'self' },
      schema: {
        summary: 'Remove an SSH key, by id or fingerprint (URL-encoded)',
        tags: ['keys'],
        querystring: ForUserQuery,
        params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await directory.removeKey(actorOf(request), subject(request), request.params.key);
      return reply.status(204).send(null);
    },
  );
};
