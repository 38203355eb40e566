/** Resource limits per process type (memory, CPU, tasks), enforced by cgroups where the host can. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import type { ResourceLimits } from '../../runtime/types.js';
import { AppParams, LimitsBody, ProcessType, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

/** Less memory than this cannot start an interpreter: a typo like `512` (bytes) is refused. */
export const MIN_MEMORY_BYTES = 4 * 1024 * 1024;

export const LimitsInfoBody = Type.Object({
  types: Type.Record(Type.String(), LimitsBody),
  custom: Type.Record(Type.String(), LimitsBody),
  defaults: LimitsBody,
  maxima: LimitsBody,
  enforced: Type.Boolean(),
  cgroup: Type.Union([Type.Literal('v1'), Type.Literal('v2'), Type.Null()]),
  reason: Type.Optional(Type.String()),
});

const LimitsChange = Type.Object(
  {
    memoryBytes: Type.Optional(Type.Integer({ minimum: MIN_MEMORY_BYTES, maximum: 2 ** 50 })),
    cpu: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1024 })),
    pids: Type.Optional(Type.Integer({ minimum: 1, maximum: 4_194_304 })),
  },
  {
    additionalProperties: false,
    description: "The type's limits (replacing what was set); a field left out follows the server default.",
  },
);

const TypeParams = Type.Object({ app: AppParams.properties.app, type: ProcessType });

export const limitsRoutes: ApiPlugin = async (app, { platform, directory }) => {
  app.get(
    '/apps/:app/limits',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Resource limits of each process type, with the server defaults and maxima',
        tags: ['limits'],
        params: AppParams,
        response: { 200: LimitsInfoBody, ...errorResponses },
      },
    },
    async (request) => platform.getLimits(request.params.app),
  );

  app.put(
    '/apps/:app/limits/:type',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: "Set a process type's limits and restart that type with them",
        tags: ['limits'],
        params: TypeParams,
        body: LimitsChange,
        response: { 200: LimitsInfoBody, ...errorResponses },
      },
    },
    async (request) => {
      const { app: name, type } = request.params;
      const limits: ResourceLimits = {};
      for (const k of ['memoryBytes', 'cpu', 'pids'] as const) {
        if (request.body[k] !== undefined) limits[k] = request.body[k];
      }
      if (Object.keys(limits).length === 0) {
        throw new GantryError(
          'GANTRY_BAD_REQUEST',
          'give at least one of memoryBytes, cpu, pids (DELETE puts the type back to the defaults)',
        );
      }
      const info = await platform.setLimits(name, type, limits);
      await directory.audit(actorOf(request), 'app.limits', `app:${name}`, { type, limits });
      return info;
    },
  );

  app.delete(
    '/apps/:app/limits/:type',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: "Put a process type's limits back to the server defaults",
        tags: ['limits'],
        params: TypeParams,
        response: { 200: LimitsInfoBody, ...errorResponses },
      },
    },
    async (request) => {
      const { app: name, type } = request.params;
      const info = await platform.setLimits(name, type, null);
      await directory.audit(actorOf(request), 'app.limits', `app:${name}`, {
        type,
        limits: null,
      });
      return info;
    },
  );
};
