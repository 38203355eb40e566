/**
 * The one place where errors become HTTP replies. Domain errors keep their
 * code and message; Fastify's own client errors (validation, bad JSON, body
 * too large) keep their status with a readable message; anything else is a
 * bug: logged in full, answered with a generic 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isGantryError, type ErrorCode } from '../errors/index.js';

export interface ErrorReply {
  error: { code: string; message: string };
}

function body(code: ErrorCode, message: string): ErrorReply {
  return { error: { code, message } };
}

/** Fastify client errors that can be told to the caller as they are. */
function clientError(err: FastifyError): { status: number; code: ErrorCode } | undefined {
  const status = err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  if (status === 401) return { status, code: 'GANTRY_UNAUTHORIZED' };
  if (status === 404) return { status, code: 'GANTRY_NOT_FOUND' };
  if (status === 413) return { status, code: 'GANTRY_PUSH_TOO_LARGE' };
  return { status, code: 'GANTRY_BAD_REQUEST' };
}

/** `invalid name: must match pattern "…"` rather than Ajv's `body/name must …`. */
export function validationMessage(err: FastifyError): string {
  const first = err.validation?.[0];
  if (!first) return `invalid request: ${err.message}`;
  const field = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const where = field || err.validationContext || 'request';
  const params = first.params as { missingProperty?: string; additionalProperty?: string };
  if (params.missingProperty) return `invalid ${where}: ${params.missingProperty} is required`;
  return `invalid ${where}: ${first.message ?? 'is not valid'}`;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(function handleError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    if (isGantryError(err)) {
      if (err.status >= 500) request.log.error({ err }, 'request failed');
      return reply.status(err.status).send(body(err.code, err.message));
    }
    if (err.validation) {
      return reply.status(400).send(body('GANTRY_BAD_REQUEST', validationMessage(err)));
    }
    const client = clientError(err);
    if (client) return reply.status(client.status).send(body(client.code, err.message));
    request.log.error({ err }, 'unexpected error');
    return reply.status(500).send(body('GANTRY_INTERNAL', 'internal server error'));
  });

  app.setNotFoundHandler(function notFound(request, reply) {
    return reply
      .status(404)
      .send(body('GANTRY_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
