/** Processes: observed state, formation (scale), restart. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { MAX_PROCESSES_PER_TYPE, PROCESS_NAME_MAX, PROCESS_NAME_PATTERN } from '../../apps/index.js';
import { AppParams, Formation, ProcessBody, ProcessType, errorResponses } from '../schemas.js';
import { actorOf, emptyBodyIsObject, type ApiPlugin } from '../types.js';

/** RFC 1123 label, lowercase (the Procfile rule): process types end up in hostnames, labels and unit names. */
export const PROCESS_TYPE = PROCESS_NAME_PATTERN;
/** Upper bound per type, shared with app.json's formation. */
export const MAX_SCALE = MAX_PROCESSES_PER_TYPE;

export const psRoutes: ApiPlugin = async (app, { platform, directory }) => {
  app.get(
    '/apps/:app/ps',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: "An app's processes and their state",
        tags: ['ps'],
        params: AppParams,
        response: { 200: Type.Object({ processes: Type.Array(ProcessBody) }), ...errorResponses },
      },
    },
    async (request) => ({ processes: await platform.listProcesses(request.params.app) }),
  );

  app.patch(
    '/apps/:app/formation',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Scale process types, e.g. { "web": 2, "worker": 1 }',
        tags: ['ps'],
        params: AppParams,
        body: Formation,
        response: { 200: Type.Object({ formation: Formation }), ...errorResponses },
      },
    },
    async (request) => {
      const formation = request.body;
      const entries = Object.entries(formation);
      if (entries.length === 0) throw new GantryError('GANTRY_BAD_REQUEST', 'give at least one TYPE: COUNT');
      for (const [type, count] of entries) {
        if (!PROCESS_TYPE.test(type) || type.length > PROCESS_NAME_MAX) {
          throw new GantryError(
            'GANTRY_BAD_REQUEST',
            `invalid process type "${type}": use lowercase letters, digits and -`,
          );
        }
        if (count > MAX_SCALE) {
          throw new GantryError('GANTRY_BAD_REQUEST', `${type}=${count}: at most ${MAX_SCALE} per type`);
        }
      }
      const result = await platform.scale(request.params.app, formation);
      await directory.audit(actorOf(request), 'app.scale', `app:${request.params.app}`, { formation });
      return { formation: result };
    },
  );

  app.post(
    '/apps/:app/restart',
    {
      config: { access: { app: 'manage' } },
      preValidation: emptyBodyIsObject,
      schema: {
        summary: "Restart an app's processes one by one (optionally one type)",
        tags: ['ps'],
        params: AppParams,
        body: Type.Object({ type: Type.Optional(ProcessType) }, { additionalProperties: false }),
        response: { 200: Type.Object({ restarted: Type.String() }), ...errorResponses },
      },
    },
    async (request) => {
      const { type } = request.body;
      await platform.restart(request.params.app, type);
      await directory.audit(actorOf(request), 'app.restart', `app:${request.params.app}`, {
        type: type ?? 'all',
      });
      return { restarted: type ?? 'all' };
    },
  );
};
