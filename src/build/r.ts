/**
 * R buildpack. R packages come from the server's R library: builds are
 * offline, so `renv::restore()` (which downloads) is not run. When the app
 * ships an renv.lock we check, inside the sandbox, that every package it
 * names is installed, and fail early with the list of missing ones rather
 * than at the first request.
 */
import { GantryError } from '../errors/index.js';
import type { BuildContext, BuildpackResult } from './types.js';

/**
 * Shiny serves its app at `/`, but Gantry forwards the full path
 * (`/apps/NAME/...`). The launcher strips GANTRY_BASE_PATH from PATH_INFO before
 * Shiny routes a request (pages, assets and the websocket alike), as Shiny
 * Server does. It travels in the environment so nothing is written into the slug.
 */
export const SHINY_LAUNCHER = [
  "app <- shiny::shinyAppDir('/app')",
  "prefix <- sub('/+$', '', Sys.getenv('GANTRY_BASE_PATH'))",
  'inner <- app$httpHandler',
  'app$httpHandler <- function(req) {',
  '  p <- req$PATH_INFO',
  "  if (nzchar(prefix) && startsWith(p, prefix)) req$PATH_INFO <- if (nchar(p) == nchar(prefix)) '/' else substring(p, nchar(prefix) + 1)",
  '  inner(req)',
  '}',
  "shiny::runApp(app, port = as.integer(Sys.getenv('PORT')), host = '0.0.0.0', launch.browser = FALSE)",
].join('\n');

export const SHINY_WEB = `Rscript -e "eval(parse(text = Sys.getenv('GANTRY_SHINY_LAUNCHER')))"`;

/** renv's own activate.R would try to download renv at start-up; the server library is used instead. */
const RENV_ENV = { RENV_CONFIG_AUTOLOADER_ENABLED: 'FALSE' };

/** Package names an renv.lock asks for (renv itself excepted: it is switched off). */
export function renvPackages(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new GantryError('GANTRY_BUILD_FAILED', `renv.lock is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const pkgs = (parsed as { Packages?: unknown } | null)?.Packages;
  if (typeof pkgs !== 'object' || pkgs === null || Array.isArray(pkgs))
    throw new GantryError('GANTRY_BUILD_FAILED', 'renv.lock has no "Packages" object');
  return Object.keys(pkgs)
    .filter((p) => p !== 'renv')
    .sort();
}

export async function buildR(ctx: BuildContext): Promise<BuildpackResult> {
  const { opts, say } = ctx;
  opts.output('-----> R app detected');
  const shiny = ctx.has('app.R') || (ctx.has('ui.R') && ctx.has('server.R'));
  const lock = await ctx.read('renv.lock');
  if (lock !== undefined) {
    const wanted = renvPackages(lock);
    say(`Checking ${wanted.length} packages from renv.lock against the server's R library`);
    const r = await ctx.runner.run({
      label: 'R package check',
      argv: ['Rscript', '--vanilla', '-e', 'cat(rownames(installed.packages()), sep="\\n")'],
      env: RENV_ENV,
      stream: false,
    });
    const installed = new Set(r.stdout.split('\n').map((l) => l.trim()));
    const missing = wanted.filter((p) => !installed.has(p));
    if (missing.length > 0) {
      throw new GantryError(
        'GANTRY_BUILD_FAILED',
        `renv.lock needs R packages that are not installed on this server: ${missing.join(', ')}. ` +
          'Ask an administrator to install them into the server R library (e.g. apt install r-cran-<name>); ' +
          'renv::restore() is not run because builds are offline.',
        { details: { missing } },
      );
    }
    say('All renv.lock packages are installed');
  }
  if (shiny) say('Detected framework: shiny');
  return {
    framework: shiny ? 'shiny' : undefined,
    processes: shiny ? { web: SHINY_WEB } : {},
    env: {
      ...(lock !== undefined ? RENV_ENV : {}),
      ...(shiny ? { GANTRY_SHINY_LAUNCHER: SHINY_LAUNCHER } : {}),
    },
  };
}
