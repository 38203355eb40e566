/**
 * The one error catalogue. Domain code throws GantryError with a stable code;
 * the API maps codes to HTTP statuses, the CLI prints the message on one line.
 */
export const ErrorCodes = {
  GANTRY_BAD_REQUEST: 400,
  GANTRY_INVALID_APP_NAME: 400,
  GANTRY_INVALID_CONFIG: 400,
  GANTRY_INVALID_PROCFILE: 400,
  GANTRY_INVALID_APP_JSON: 400,
  GANTRY_INVALID_REF: 400,
  GANTRY_UNAUTHORIZED: 401,
  GANTRY_FORBIDDEN: 403,
  GANTRY_NOT_FOUND: 404,
  GANTRY_APP_NOT_FOUND: 404,
  GANTRY_RELEASE_NOT_FOUND: 404,
  GANTRY_APP_EXISTS: 409,
  GANTRY_CONFLICT: 409,
  GANTRY_DEPLOY_IN_PROGRESS: 409,
  GANTRY_NO_RELEASE: 409,
  GANTRY_PUSH_TOO_LARGE: 413,
  GANTRY_TOO_MANY_REQUESTS: 429,
  GANTRY_BUILD_FAILED: 422,
  GANTRY_RELEASE_FAILED: 422,
  GANTRY_HEALTHCHECK_FAILED: 422,
  GANTRY_UNSAFE_SOURCE: 422,
  GANTRY_EXEC_FAILED: 500,
  GANTRY_SANDBOX_UNAVAILABLE: 500,
  GANTRY_UNSUPPORTED: 501,
  GANTRY_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class GantryError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GantryError';
    this.code = code;
    this.details = options?.details;
  }
  get status(): number {
    return ErrorCodes[this.code];
  }
}

export function isGantryError(e: unknown, code?: ErrorCode): e is GantryError {
  return e instanceof GantryError && (code === undefined || e.code === code);
}

export const notFound = (what: string): GantryError =>
  new GantryError('GANTRY_NOT_FOUND', `${what} not found`);
