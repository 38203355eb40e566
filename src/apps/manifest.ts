import type { CronEntry } from './appjson.js';
/** What a build produces besides the slug's files: how to run it. */

export interface HealthCheck {
  /** Only `startup` checks are run today (Dokku's `liveness`/`readiness` are accepted and ignored). */
  type: 'startup' | 'liveness' | 'readiness';
  name: string;
  /** Request path relative to the app's base path, e.g. `/` or `/health`. */
  path: string;
  /** Text the response body must contain. */
  content?: string;
  attempts: number;
  /** Seconds between attempts. */
  wait: number;
  /** Seconds per attempt. */
  timeout: number;
  /** Seconds before the first attempt. */
  initialDelay: number;
}

export type BuildpackName = 'python' | 'node' | 'r' | 'static' | 'procfile';

export interface SlugManifest {
  buildpack: BuildpackName;
  /** Detected framework, for messages and defaults: dash, flask, streamlit, bokeh, panel, shiny, express, … */
  framework?: string;
  /** Process type → command (Procfile or defaults). Never contains `release`. */
  processes: Record<string, string>;
  /** Procfile `release` command, run once per deploy before rollout. */
  release?: string;
  /** Default process counts from app.json `formation` (web defaults to 1). */
  formation: Record<string, number>;
  /** app.json healthchecks per process type. */
  healthchecks: Record<string, HealthCheck[]>;
  /** app.json scripts.dokku.predeploy / postdeploy. */
  predeploy?: string;
  postdeploy?: string;
  /** app.json `cron` entries (Dokku format), run on schedule by src/jobs. */
  cron?: CronEntry[];
  /** Static site: served by the router itself from this directory (relative to the slug). No processes. */
  static?: { root: string };
  /** Extra env the buildpack wants at run time (e.g. VIRTUAL_ENV). */
  env: Record<string, string>;
}
