/** Admin operations: the audit log and master-key rotation. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { AuditEventBody, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

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
}

export const adminRoutes: ApiPlugin<AdminRoutesOptions> = async (app, { directory, rotateMasterKey }) => {
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
};
