/**
 * Shared types of the API layer: the TypeBox type provider (so route handlers
 * get typed params/body/replies from their schemas), the plugin shape every
 * domain plugin has, and `request.user`.
 */
import type { FastifyPluginAsync, FastifyRequest, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from '../log/index.js';
import type { Platform, User } from './platform.js';
import { GantryError } from '../errors/index.js';

/** Infers request and reply types from TypeBox schemas (what @fastify/type-provider-typebox does). */
export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  readonly validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  readonly serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** What every domain plugin receives. */
export interface ApiPluginOptions {
  platform: Platform;
  logger: Logger;
}

export type ApiPlugin<Extra = object> = FastifyPluginAsync<
  ApiPluginOptions & Extra,
  RawServerDefault,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null only on public routes. Set by the auth hook. */
    user: User | null;
  }
  interface FastifyContextConfig {
    /** Route is reachable without a token (health, login, OpenAPI document). */
    public?: boolean;
  }
}

/** The caller of an authenticated route (the auth hook guarantees it is set). */
export function userOf(request: FastifyRequest): User {
  if (!request.user) throw new GantryError('GANTRY_UNAUTHORIZED', 'authentication required');
  return request.user;
}

/**
 * `preValidation` for routes whose JSON body is optional: a request without
 * a body validates as `{}` (Fastify would validate `undefined` and fail).
 */
export async function emptyBodyIsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}
