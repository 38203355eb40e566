/**
 * Build: turns a pushed source tree into a slug (in place) and its manifest.
 *
 * Order matters for safety: the tree is checked for escaping symlinks and
 * special files before Gantry reads anything from it, manifests are read
 * without following links, and every command the app controls (pip, npm,
 * build scripts) runs inside the app's sandbox as the app's uid.
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChecked } from '../exec/index.js';
import { GantryError, isGantryError } from '../errors/index.js';
import { parseAppJson, parseProcfile, type AppJson, type SlugManifest } from '../apps/index.js';
import { isRoot } from '../runtime/sandbox.js';
import { checkSourceTree, readSourceFile, resolveInsideDir, topLevelEntries } from './safety.js';
import { INDENT, SandboxRunner } from './runner.js';
import { detectBuildpack, DETECT_HINT } from './detect.js';
import { buildPython } from './python.js';
import { buildNode } from './node.js';
import { buildR } from './r.js';
import type { BuildContext, BuildOptions, BuildpackResult } from './types.js';

export type { BuildOptions, BuildSettings } from './types.js';
export { checkSourceTree } from './safety.js';
export { detectBuildpack } from './detect.js';

/** Parser errors become build failures carrying the parser's message. */
function asBuildFailure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isGantryError(e, 'GANTRY_INVALID_PROCFILE') || isGantryError(e, 'GANTRY_INVALID_APP_JSON'))
      throw new GantryError('GANTRY_BUILD_FAILED', e.message, { cause: e, details: { reason: e.code } });
    throw e;
  }
}

async function buildStatic(ctx: BuildContext): Promise<BuildpackResult> {
  ctx.opts.output('-----> Static site detected');
  let root = '.';
  const marker = await ctx.read('.static');
  const named = marker
    ?.split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
  if (named) {
    const dir = await resolveInsideDir(ctx.opts.sourceDir, named);
    if (dir === undefined)
      throw new GantryError(
        'GANTRY_BUILD_FAILED',
        `.static names "${named}", which is not a directory inside the app`,
      );
    root = dir;
  }
  ctx.say(`Serving files from /app${root === '.' ? '' : `/${root}`}`);
  return { processes: {}, env: {}, static: { root } };
}

async function buildProcfileOnly(ctx: BuildContext): Promise<BuildpackResult> {
  ctx.opts.output('-----> Procfile app detected (no dependencies to install)');
  return { processes: {}, env: {} };
}

function composeManifest(opts: {
  buildpack: SlugManifest['buildpack'];
  result: BuildpackResult;
  procfile: Record<string, string>;
  appJson: AppJson | undefined;
  say: (line: string) => void;
}): SlugManifest {
  const { buildpack, result, procfile, appJson, say } = opts;
  const { release, ...declared } = procfile;
  const processes: Record<string, string> = { ...result.processes, ...declared };
  if (result.static && processes.web) {
    say('Ignoring the Procfile web process: the router serves this static site');
    delete processes.web;
  }
  const formation: Record<string, number> = {};
  for (const type of Object.keys(processes))
    formation[type] = appJson?.formation[type] ?? (type === 'web' ? 1 : 0);
  for (const type of Object.keys(appJson?.formation ?? {}))
    if (!(type in processes)) say(`app.json formation names "${type}", which is not a process type: ignored`);
  const manifest: SlugManifest = {
    buildpack,
    processes,
    formation,
    healthchecks: appJson?.healthchecks ?? {},
    env: result.env,
  };
  if (result.framework) manifest.framework = result.framework;
  if (release) manifest.release = release;
  if (appJson?.predeploy) manifest.predeploy = appJson.predeploy;
  if (appJson?.postdeploy) manifest.postdeploy = appJson.postdeploy;
  if (appJson?.cron?.length) manifest.cron = appJson.cron;
  if (result.static) manifest.static = result.static;
  return manifest;
}

/**
 * Builds the slug in `opts.sourceDir` and returns its manifest. Throws
 * GANTRY_UNSAFE_SOURCE for a hostile tree and GANTRY_BUILD_FAILED (message
 * ready for the pusher) for anything else that stops the build; the details
 * have already been streamed through `opts.output`.
 */
export async function buildSlug(opts: BuildOptions): Promise<SlugManifest> {
  const started = Date.now();
  const say = (line: string): void => opts.output(INDENT + line);
  const { sourceDir, settings } = opts;

  // (a) Safety first: nothing is read before the whole tree is checked.
  await checkSourceTree(sourceDir);
  const top = await topLevelEntries(sourceDir);
  const has = (name: string): boolean => top.has(name);
  const read = (name: string): Promise<string | undefined> => readSourceFile(sourceDir, name);

  // (b) Manifests.
  const procfileText = await read('Procfile');
  const procfile = procfileText === undefined ? {} : asBuildFailure(() => parseProcfile(procfileText));
  const appJsonText = await read('app.json');
  const appJson = appJsonText === undefined ? undefined : asBuildFailure(() => parseAppJson(appJsonText));
  for (const w of appJson?.warnings ?? []) say(`app.json: ${w}`);

  // (c) Detect.
  const buildpack = detectBuildpack({
    has,
    hasProcfile: procfileText !== undefined,
    procfileWeb: 'web' in procfile,
  });
  if (!buildpack) throw new GantryError('GANTRY_BUILD_FAILED', DETECT_HINT);

  // (d) Build, as the app's uid, inside its sandbox.
  const cacheDir = opts.cacheDir;
  const toolCacheDir = join(cacheDir, 'tools');
  await mkdir(toolCacheDir, { recursive: true, mode: 0o755 });
  const tmpDir = await mkdtemp(join(tmpdir(), `gantry-build-${opts.app}-`));
  try {
    await chmod(tmpDir, 0o700);
    if (isRoot()) {
      // argv only; -h so a link in the tree is re-owned itself, never its target.
      const owner = `${opts.uid}:${opts.uid}`;
      await runChecked('chown', ['-R', '-h', owner, '--', sourceDir, tmpDir]);
      await runChecked('chown', ['-h', owner, '--', toolCacheDir]);
    }
    const runner = new SandboxRunner({
      app: opts.app,
      uid: opts.uid,
      sourceDir,
      toolCacheDir,
      tmpDir,
      binds: settings.pipWheelhouse ? [{ src: settings.pipWheelhouse, dest: '/wheelhouse' }] : [],
      env: opts.env,
      unsafe: settings.unsafeNoSandbox,
      output: opts.output,
      logger: opts.logger,
      signal: opts.signal,
    });
    const ctx: BuildContext = {
      opts,
      runner,
      say,
      has,
      read,
      // Trees built without a sandbox carry host paths: never share them through the cache.
      depCacheRoot: settings.unsafeNoSandbox ? undefined : join(cacheDir, 'deps'),
    };
    const result =
      buildpack === 'python'
        ? await buildPython(ctx)
        : buildpack === 'node'
          ? await buildNode(ctx)
          : buildpack === 'r'
            ? await buildR(ctx)
            : buildpack === 'static'
              ? await buildStatic(ctx)
              : await buildProcfileOnly(ctx);

    const manifest = composeManifest({ buildpack, result, procfile, appJson, say });
    opts.output('-----> Discovering process types');
    const types = Object.keys(manifest.processes);
    say(types.length > 0 ? `Process types -> ${types.join(', ')}` : 'No processes (static site)');
    if (buildpack !== 'static' && !manifest.processes.web)
      say('No web process: add one to the Procfile to serve this app');
    opts.logger.info({ app: opts.app, buildpack, ms: Date.now() - started }, 'slug built');
    return manifest;
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}
