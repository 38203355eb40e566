/** Login (password → API token) and whoami. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { FailureLimiter } from '../rate-limit.js';
import { UserBody, errorResponses } from '../schemas.js';
import { userOf, type ApiPlugin } from '../types.js';

const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 200 }),
    password: Type.String({ minLength: 1, maxLength: 1000 }),
    tokenName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

export interface AuthRoutesOptions {
  /** Failed logins allowed per client address within `loginWindowMs` (default 10 per 15 minutes). */
  maxLoginFailures?: number;
  loginWindowMs?: number;
}

export const authRoutes: ApiPlugin<AuthRoutesOptions> = async (app, opts) => {
  const { platform } = opts;
  const limiter = new FailureLimiter({
    max: opts.maxLoginFailures ?? 10,
    windowMs: opts.loginWindowMs ?? 15 * 60_000,
  });

  app.post(
    '/login',
    {
      config: { public: true },
      schema: {
        summary: 'Exchange a username and password for an API token',
        tags: ['auth'],
        security: [],
        body: LoginBody,
        response: {
          200: Type.Object({ token: Type.String(), username: Type.String() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const wait = limiter.retryAfter(request.ip);
      if (wait > 0) {
        void reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new GantryError('GANTRY_TOO_MANY_REQUESTS', 'too many failed logins; try again later');
      }
      const { username, password, tokenName } = request.body;
      const user = await platform.verifyPassword(username, password);
      if (!user) {
        limiter.fail(request.ip);
        request.log.info({ username, ip: request.ip }, 'failed login');
        // Same message whether the user exists or not.
        throw new GantryError('GANTRY_UNAUTHORIZED', 'invalid username or password');
      }
      limiter.succeed(request.ip);
      const token = await platform.createToken(user, tokenName ?? 'api');
      return { token, username: user.username };
    },
  );

  app.get(
    '/whoami',
    {
      schema: {
        summary: 'The user the token belongs to',
        tags: ['auth'],
        response: { 200: UserBody, ...errorResponses },
      },
    },
    async (request) => userOf(request),
  );
};
