/** Config vars: read, and set/unset (each change is a new release). */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import { AppParams, Nullable, ReleaseBody, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_VALUE = 64 * 1024;

/** Why `key` cannot be a config var name, or undefined if it can. */
export function configKeyProblem(key: string): string | undefined {
  if (!KEY.test(key) || key.length > 256) {
    return `invalid config var name "${key}": use letters, digits and _, not starting with a digit`;
  }
  if (key === 'PORT') return 'PORT is set by Gantry for each web process and cannot be configured';
  if (key.toUpperCase().startsWith('GANTRY_')) return `${key}: names starting with GANTRY_ are reserved`;
  return undefined;
}

const ConfigChange = Type.Object(
  {
    set: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: MAX_VALUE }))),
    unset: Type.Optional(Type.Array(Type.String(), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);

export const configRoutes: ApiPlugin = async (app, { platform, directory }) => {
  app.get(
    '/apps/:app/config',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: "An app's config vars",
        tags: ['config'],
        params: AppParams,
        response: {
          200: Type.Object({ vars: Type.Record(Type.String(), Type.String()) }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({ vars: await platform.getConfig(request.params.app) }),
  );

  app.patch(
    '/apps/:app/config',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Set and/or unset config vars; creates a release (null if the app was never deployed)',
        tags: ['config'],
        params: AppParams,
        body: ConfigChange,
        response: { 200: Type.Object({ release: Nullable(ReleaseBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const { set = {}, unset = [] } = request.body;
      const keys = [...Object.keys(set), ...unset];
      if (keys.length === 0) {
        throw new GantryError('GANTRY_INVALID_CONFIG', 'nothing to change: give "set" and/or "unset"');
      }
      for (const key of keys) {
        const problem = configKeyProblem(key);
        if (problem) throw new GantryError('GANTRY_INVALID_CONFIG', problem);
      }
      const both = unset.filter((k) => Object.hasOwn(set, k));
      if (both.length > 0) {
        throw new GantryError('GANTRY_INVALID_CONFIG', `both set and unset: ${both.join(', ')}`);
      }
      const change: { set?: Record<string, string>; unset?: string[] } = {};
      if (Object.keys(set).length > 0) change.set = set;
      if (unset.length > 0) change.unset = unset;
      const release = await platform.updateConfig(request.params.app, change);
      // Names only: values are secrets and never reach the audit log.
      await directory.audit(actorOf(request), 'app.config', `app:${request.params.app}`, {
        set: Object.keys(set).sort(),
        unset: [...unset].sort(),
      });
      return { release };
    },
  );
};
