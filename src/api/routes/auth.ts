/** Login (password → API token) and whoami. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { LoginLimiter } from '../../auth/rate-limit.js';
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
  /**
   * The limiter shared with git basic auth. Without one, a limiter of its own
   * is made from the two options below.
   */
  loginLimiter?: LoginLimiter;
  /**
   * Failed logins allowed per client address within `loginWindowMs` (default
   * 10 per 15 minutes); twice as many per username.
   */
  maxLoginFailures?: number;
  loginWindowMs?: number;
}

export const authRoutes: ApiPlugin<AuthRoutesOptions> = async (app, opts) => {
  const { platform } = opts;
  const maxFailures = opts.maxLoginFailures ?? 10;
  const limiter =
    opts.loginLimiter ??
    new LoginLimiter({
      maxFailuresPerAddress: maxFailures,
      maxFailuresPerUsername: 2 * maxFailures,
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
      const { username, password, tokenName } = request.body;
      // Counted before the (slow) verify, so parallel guesses cannot all slip through.
      const attempt = await limiter.guard({ username, address: request.ip }, () =>
        platform.verifyPassword(username, password),
      );
      if (attempt.refused) {
        void reply.header('retry-after', String(Math.ceil(attempt.retryAfterMs / 1000)));
        throw new GantryError('GANTRY_TOO_MANY_REQUESTS', 'too many failed logins; try again later');
      }
      const user = attempt.result;
      if (!user) {
        request.log.info({ username, ip: request.ip }, 'failed login');
        // Same message whether the user exists or not.
        throw new GantryError('GANTRY_UNAUTHORIZED', 'invalid username or password');
      }
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
