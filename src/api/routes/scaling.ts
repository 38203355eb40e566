/** Scale to zero and autoscaling of an app's web processes: settings, sleep, wake. */
import { Type } from '@sinclair/typebox';
import { GantryError } from '../../errors/index.js';
import type { ScalingSettings } from '../../scaler/types.js';
import { AppParams, OrNull, errorResponses } from '../schemas.js';
import { actorOf, type ApiPlugin } from '../types.js';

/** Longest idle timeout: timers beyond 2^31 ms do not fire when expected in Node. */
export const MAX_IDLE_TIMEOUT_MS = 7 * 24 * 3600_000;
/** Shortest idle timeout (tests and demos use seconds; the server default is minutes). */
export const MIN_IDLE_TIMEOUT_MS = 1000;
/** Schema bound only; the server's own maximum (ScalingInfo.maxReplicas) is checked by the platform. */
const REPLICAS_BOUND = 1000;

const SETTING_KEYS = ['min', 'max', 'concurrency', 'idleTimeoutMs', 'affinity'] as const;

const ScalingSettingsBody = Type.Object({
  min: Type.Integer(),
  max: Type.Union([Type.Integer(), Type.Null()]),
  concurrency: Type.Integer(),
  idleTimeoutMs: Type.Integer(),
  affinity: Type.Boolean(),
});

export const ScalingBody = Type.Object({
  settings: ScalingSettingsBody,
  custom: Type.Array(Type.Union(SETTING_KEYS.map((k) => Type.Literal(k)))),
  state: Type.Union([
    Type.Literal('awake'),
    Type.Literal('asleep'),
    Type.Literal('waking'),
    Type.Literal('stopped'),
  ]),
  replicas: Type.Integer(),
  desired: Type.Integer(),
  maxReplicas: Type.Integer(),
});

const ScalingChange = Type.Object(
  {
    min: Type.Optional(OrNull(Type.Integer({ minimum: 0, maximum: REPLICAS_BOUND }))),
    max: Type.Optional(OrNull(Type.Integer({ minimum: 1, maximum: REPLICAS_BOUND }))),
    concurrency: Type.Optional(OrNull(Type.Integer({ minimum: 1, maximum: 100_000 }))),
    idleTimeoutMs: Type.Optional(
      OrNull(Type.Integer({ minimum: MIN_IDLE_TIMEOUT_MS, maximum: MAX_IDLE_TIMEOUT_MS })),
    ),
    affinity: Type.Optional(OrNull(Type.Boolean())),
  },
  {
    additionalProperties: false,
    description: 'Only the settings to change; null puts one back to the server default.',
  },
);

type Change = { [K in keyof ScalingSettings]?: ScalingSettings[K] | null };

export const scalingRoutes: ApiPlugin = async (app, { platform, directory }) => {
  app.get(
    '/apps/:app/scaling',
    {
      config: { access: { app: 'read' } },
      schema: {
        summary: 'Scale-to-zero and autoscaling settings and state of the web processes',
        tags: ['scaling'],
        params: AppParams,
        response: { 200: ScalingBody, ...errorResponses },
      },
    },
    async (request) => platform.getScaling(request.params.app),
  );

  app.patch(
    '/apps/:app/scaling',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Change scaling settings, e.g. { "min": 0, "max": 4 }; null resets one to the default',
        tags: ['scaling'],
        params: AppParams,
        body: ScalingChange,
        response: { 200: ScalingBody, ...errorResponses },
      },
    },
    async (request) => {
      const change: Change = {};
      for (const key of SETTING_KEYS) {
        if (request.body[key] !== undefined) Object.assign(change, { [key]: request.body[key] });
      }
      if (Object.keys(change).length === 0) {
        throw new GantryError('GANTRY_BAD_REQUEST', `give at least one of ${SETTING_KEYS.join(', ')}`);
      }
      if (typeof change.min === 'number' && typeof change.max === 'number' && change.min > change.max) {
        throw new GantryError(
          'GANTRY_BAD_REQUEST',
          `min (${change.min}) must not be above max (${change.max})`,
        );
      }
      const info = await platform.setScaling(request.params.app, change);
      await directory.audit(actorOf(request), 'app.scaling', `app:${request.params.app}`, {
        change,
      });
      return info;
    },
  );

  app.post(
    '/apps/:app/sleep',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Stop the web processes now; the app wakes on its next request',
        tags: ['scaling'],
        params: AppParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await platform.sleep(request.params.app);
      await directory.audit(actorOf(request), 'app.sleep', `app:${request.params.app}`, {});
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/apps/:app/wake',
    {
      config: { access: { app: 'manage' } },
      schema: {
        summary: 'Start a sleeping app now; answers once it serves',
        tags: ['scaling'],
        params: AppParams,
        response: { 200: ScalingBody, ...errorResponses },
      },
    },
    async (request) => {
      const { app: name } = request.params;
      await platform.wake(name);
      await directory.audit(actorOf(request), 'app.wake', `app:${name}`, {});
      return platform.getScaling(name);
    },
  );
};
