/**
 * App names end up in URLs (`/apps/NAME/`), hostnames, directory names and
 * log lines, so they are validated once, at the edge, against a strict
 * pattern: a letter first, then lowercase letters, digits and dashes.
 */
import { GantryError } from '../errors/index.js';

export const APP_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
export const APP_NAME_MAX = 63;

/** True if `name` is a valid app name. Never throws. */
export function isValidAppName(name: unknown): name is string {
  return typeof name === 'string' && APP_NAME_PATTERN.test(name);
}

/** Why a name is invalid, in words a user can act on; undefined when valid. */
function problem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > APP_NAME_MAX) return `it is ${name.length} characters long (at most ${APP_NAME_MAX})`;
  if (/[A-Z]/.test(name)) return 'it contains uppercase letters';
  if (!/^[a-z]/.test(name)) return 'it must start with a lowercase letter';
  const bad = /[^a-z0-9-]/.exec(name);
  if (bad) return `it contains ${JSON.stringify(bad[0])}`;
  return undefined;
}

/**
 * Throws GANTRY_INVALID_APP_NAME unless `name` matches `^[a-z][a-z0-9-]{0,62}$`.
 * Returns the name, typed, for chaining.
 */
export function validateAppName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new GantryError('GANTRY_INVALID_APP_NAME', 'app name must be a string');
  }
  if (APP_NAME_PATTERN.test(name)) return name;
  // JSON.stringify keeps control characters and quotes visible (and harmless) in the message.
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  throw new GantryError(
    'GANTRY_INVALID_APP_NAME',
    `invalid app name ${shown}: ${problem(name) ?? 'not allowed'}; use 1-63 lowercase letters, digits and dashes, starting with a letter`,
  );
}
