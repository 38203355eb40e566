/**
 * app.json parsing, accepting both Heroku's and Dokku's dialects.
 *
 * Only what Gantry acts on is read: `formation` (quantities), `healthchecks`
 * (Dokku), `scripts` (Dokku predeploy/postdeploy, Heroku postdeploy) and
 * `cron` (Dokku). Unknown keys are ignored, as both platforms do; known keys
 * with the wrong type are errors, so a typo'd quantity never deploys silently.
 *
 * Healthcheck defaults follow Dokku's docker-container-healthchecker:
 * attempts 3, wait 5 s, timeout 5 s, initialDelay 0 s, path `/`.
 */
import { GantryError } from '../errors/index.js';
import type { HealthCheck } from './manifest.js';
import { MAX_PROCESSES_PER_TYPE } from './limits.js';
import { processNameProblem } from './procfile.js';
import { jobId, parseSchedule } from '../jobs/index.js';

export interface CronEntry {
  command: string;
  schedule: string;
}

export interface AppJson {
  /** Process type → quantity, only for types app.json names. */
  formation: Record<string, number>;
  healthchecks: Record<string, HealthCheck[]>;
  predeploy?: string;
  postdeploy?: string;
  cron?: CronEntry[];
  /** Things accepted but ignored (e.g. command healthchecks), worth telling the pusher. */
  warnings: string[];
}

export const HEALTHCHECK_DEFAULTS = {
  attempts: 3,
  wait: 5,
  timeout: 5,
  initialDelay: 0,
  path: '/',
} as const;

const CHECK_TYPES = new Set(['startup', 'liveness', 'readiness']);
type Obj = Record<string, unknown>;

function invalid(why: string): never {
  throw new GantryError('GANTRY_INVALID_APP_JSON', `app.json: ${why}`);
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? JSON.stringify(v) : typeof v;

function expectObj(v: unknown, where: string): Obj {
  if (!isObj(v)) invalid(`${where} must be an object, got ${describe(v)}`);
  return v;
}

function optString(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') invalid(`${where}.${key} must be a string, got ${describe(v)}`);
  return v;
}

function requiredCommand(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.trim() === '')
    invalid(`${where} must be a non-empty string, got ${describe(v)}`);
  return v.trim();
}

/** Non-negative number of seconds/attempts; 0 (or absent) means "use the default", as in Dokku. */
function optCount(o: Obj, key: string, where: string, fallback: number, integer: boolean): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v)))
    invalid(`${where}.${key} must be a ${integer ? 'whole ' : ''}number ≥ 0, got ${describe(v)}`);
  return v === 0 && fallback !== 0 ? fallback : v;
}

function checkProcessName(name: string, where: string): void {
  const problem = processNameProblem(name);
  if (problem) invalid(`${where}: ${problem}`);
}

function parseQuantity(v: unknown, where: string, type: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    invalid(`${where} must be a whole number ≥ 0, got ${describe(v)}`);
  if (v > MAX_PROCESSES_PER_TYPE)
    invalid(`${where}: ${v} "${type}" processes asked for, at most ${MAX_PROCESSES_PER_TYPE} per type`);
  return v;
}

function parseFormation(raw: unknown): Record<string, number> {
  const formation: Record<string, number> = {};
  // Old Heroku dialect: [{ "process": "web", "quantity": 1 }].
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      const o = expectObj(item, `formation[${i}]`);
      const name = o.process ?? o.type;
      if (typeof name !== 'string')
        invalid(`formation[${i}].process must be a string, got ${describe(name)}`);
      checkProcessName(name, `formation[${i}]`);
      if (o.quantity !== undefined)
        formation[name] = parseQuantity(o.quantity, `formation[${i}].quantity`, name);
    });
    return formation;
  }
  for (const [name, spec] of Object.entries(expectObj(raw, 'formation'))) {
    checkProcessName(name, 'formation');
    // Dokku's max_parallel, autoscaling, service and Heroku's size are accepted and ignored.
    const o = expectObj(spec, `formation.${name}`);
    if (o.quantity !== undefined)
      formation[name] = parseQuantity(o.quantity, `formation.${name}.quantity`, name);
  }
  return formation;
}

function parseCheck(raw: unknown, proc: string, i: number, warnings: string[]): HealthCheck | undefined {
  const where = `healthchecks.${proc}[${i}]`;
  const o = expectObj(raw, where);
  const type = optString(o, 'type', where) ?? 'startup';
  if (!CHECK_TYPES.has(type)) invalid(`${where}.type must be startup, liveness or readiness, got "${type}"`);
  const name = optString(o, 'name', where) ?? `${proc} ${type} check ${i + 1}`;
  let path = optString(o, 'path', where);
  const content = optString(o, 'content', where);
  if (path === undefined) {
    // Dokku: no path means a command, listening or uptime check. Only HTTP checks are run here.
    const kind = o.command !== undefined ? 'command' : o.listening ? 'listening' : 'uptime';
    if (kind !== 'uptime' || proc !== 'web') {
      warnings.push(`healthcheck "${name}" (${proc}): ${kind} checks are not supported; ignored`);
      return undefined;
    }
    path = HEALTHCHECK_DEFAULTS.path;
  }
  if (!path.startsWith('/')) invalid(`${where}.path must start with "/", got ${JSON.stringify(path)}`);
  const check: HealthCheck = {
    type: type as HealthCheck['type'],
    name,
    path,
    attempts: optCount(o, 'attempts', where, HEALTHCHECK_DEFAULTS.attempts, true),
    wait: optCount(o, 'wait', where, HEALTHCHECK_DEFAULTS.wait, false),
    timeout: optCount(o, 'timeout', where, HEALTHCHECK_DEFAULTS.timeout, false),
    initialDelay: optCount(o, 'initialDelay', where, HEALTHCHECK_DEFAULTS.initialDelay, false),
  };
  if (content !== undefined && content !== '') check.content = content;
  return check;
}

function parseHealthchecks(raw: unknown, warnings: string[]): Record<string, HealthCheck[]> {
  const out: Record<string, HealthCheck[]> = {};
  for (const [proc, list] of Object.entries(expectObj(raw, 'healthchecks'))) {
    checkProcessName(proc, 'healthchecks');
    if (!Array.isArray(list)) invalid(`healthchecks.${proc} must be an array, got ${describe(list)}`);
    const checks = list
      .map((c, i) => parseCheck(c, proc, i, warnings))
      .filter((c): c is HealthCheck => c !== undefined);
    if (checks.length > 0) out[proc] = checks;
  }
  return out;
}

function parseCron(raw: unknown): CronEntry[] {
  if (!Array.isArray(raw)) invalid(`cron must be an array, got ${describe(raw)}`);
  const seen = new Map<string, number>();
  return raw.map((item, i) => {
    const o = expectObj(item, `cron[${i}]`);
    const command = requiredCommand(o.command, `cron[${i}].command`);
    const schedule = requiredCommand(o.schedule, `cron[${i}].schedule`);
    // Fully checked now, so a typo fails the push instead of a job that never runs.
    parseSchedule(schedule, `app.json: cron[${i}].schedule`);
    const id = jobId({ schedule, command });
    const first = seen.get(id);
    if (first !== undefined) invalid(`cron[${i}] repeats cron[${first}] (same schedule and command)`);
    seen.set(id, i);
    return { command, schedule };
  });
}

function parseScripts(raw: unknown): { predeploy?: string; postdeploy?: string } {
  const scripts = expectObj(raw, 'scripts');
  const out: { predeploy?: string; postdeploy?: string } = {};
  // Heroku: "postdeploy": "cmd" or { "command": "cmd", "size": … }.
  const heroku = scripts.postdeploy;
  if (heroku !== undefined) {
    out.postdeploy = isObj(heroku)
      ? requiredCommand(heroku.command, 'scripts.postdeploy.command')
      : requiredCommand(heroku, 'scripts.postdeploy');
  }
  if (scripts.dokku !== undefined) {
    const dokku = expectObj(scripts.dokku, 'scripts.dokku');
    if (dokku.predeploy !== undefined)
      out.predeploy = requiredCommand(dokku.predeploy, 'scripts.dokku.predeploy');
    // Dokku's own key wins over Heroku's when both are present.
    if (dokku.postdeploy !== undefined)
      out.postdeploy = requiredCommand(dokku.postdeploy, 'scripts.dokku.postdeploy');
  }
  return out;
}

/** Parses JSON, turning V8's "at position N" into a line and column a user can find. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const m = /at position (\d+)/.exec(message);
    const pos = m ? Number(m[1]) : text.length;
    const before = text.slice(0, pos).split('\n');
    const where = `line ${before.length} column ${before.at(-1)!.length + 1}`;
    throw new GantryError(
      'GANTRY_INVALID_APP_JSON',
      `app.json is not valid JSON (${where}): ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      {
        cause: e,
        details: { position: pos },
      },
    );
  }
}

/**
 * Parses app.json text. Throws GANTRY_INVALID_APP_JSON for invalid JSON (with
 * line and column) or a known key of the wrong type.
 */
export function parseAppJson(text: string): AppJson {
  const root = expectObj(parseJson(text), 'the top level');
  const warnings: string[] = [];
  const result: AppJson = {
    formation: root.formation === undefined ? {} : parseFormation(root.formation),
    healthchecks: root.healthchecks === undefined ? {} : parseHealthchecks(root.healthchecks, warnings),
    warnings,
  };
  if (root.scripts !== undefined) Object.assign(result, parseScripts(root.scripts));
  if (root.cron !== undefined) result.cron = parseCron(root.cron);
  return result;
}
