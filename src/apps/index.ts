/** Apps: names, manifests (Procfile, app.json) and what a build produces. */
export { validateAppName, isValidAppName, APP_NAME_PATTERN, APP_NAME_MAX } from './names.js';
export {
  parseProcfile,
  processNameProblem,
  stripInlineComment,
  PROCESS_NAME_PATTERN,
  PROCESS_NAME_MAX,
} from './procfile.js';
export { parseAppJson, HEALTHCHECK_DEFAULTS, type AppJson, type CronEntry } from './appjson.js';
export { MAX_PROCESSES_PER_TYPE, effectiveLimits, formatBytes, type LimitPolicy } from './limits.js';
export type { SlugManifest, HealthCheck, BuildpackName } from './manifest.js';
export {
  normalizeAppMeta,
  TITLE_MAX,
  DESCRIPTION_MAX,
  TAGS_MAX,
  TAG_PATTERN,
  type AppMetaChange,
} from './meta.js';
