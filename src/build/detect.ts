/**
 * Buildpack detection from the top level of the source tree. Explicit beats
 * implicit: a `.static` file means a static site even if a Procfile exists;
 * a bare index.html only counts when no Procfile asks for a web process.
 */
import type { BuildpackName } from '../apps/index.js';

export interface DetectInput {
  has(name: string): boolean;
  /** The Procfile defines a `web` process. */
  procfileWeb: boolean;
  hasProcfile: boolean;
}

export const DETECT_HINT =
  'could not detect the app type: add a requirements.txt, package.json, app.R, index.html, or a Procfile';

export function detectBuildpack(i: DetectInput): BuildpackName | undefined {
  if (['requirements.txt', 'pyproject.toml', 'uv.lock', 'setup.py'].some((f) => i.has(f))) return 'python';
  if (i.has('package.json')) return 'node';
  if (i.has('app.R') || (i.has('ui.R') && i.has('server.R')) || i.has('renv.lock')) return 'r';
  if (i.has('.static')) return 'static';
  if (i.has('index.html') && !i.procfileWeb) return 'static';
  if (i.hasProcfile) return 'procfile';
  return undefined;
}
