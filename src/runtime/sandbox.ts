/**
 * The bubblewrap sandbox every app process (and every build step) runs in.
 *
 * Inside: read-only system directories, the slug at /app, a private writable
 * /tmp, the app's own data dir at /data, fresh pid/ipc/uts namespaces. Nothing
 * else of the host — not Gantry's data dir, not other apps, not /root or /home.
 *
 * Identity: when Gantry runs as root, bwrap runs as root WITHOUT a user
 * namespace and `setpriv` drops to the app's own uid/gid with no capabilities
 * and no_new_privs (the process really is that uid on the host). When Gantry
 * is not root, bwrap uses an unprivileged user namespace; the process keeps
 * Gantry's uid (isolation by mounts and namespaces only).
 *
 * The app's environment (config vars: user-controlled) must reach the app
 * only AFTER the privilege drop. bwrap and setpriv run with privileges (as
 * root, or as Gantry's uid), so a config `LD_PRELOAD`, `PATH`, `GCONV_PATH`…
 * in THEIR environment would run app code with those privileges. So:
 * - bwrap and setpriv are executed by absolute path with a fixed, minimal
 *   environment ({@link PRIVILEGED_ENV});
 * - the app env travels as the data of an extra pipe ({@link ENV_FD}), which
 *   bwrap copies into the sandbox as a read-only file ({@link ENV_FILE});
 * - after setpriv, `/bin/sh` sources that file and `exec`s the original argv,
 *   so the process chain stays bwrap-init → argv (see process.ts).
 * Config values never appear in a host-visible command line or environment.
 */
import { accessSync, constants, lstatSync, readlinkSync, existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { MINIMAL_PATH } from '../exec/index.js';
import { GantryError } from '../errors/index.js';

export interface Bind {
  /** Host path. */
  src: string;
  /** Path inside the sandbox. */
  dest: string;
  writable?: boolean;
}

export interface SandboxOptions {
  uid: number;
  gid?: number;
  /** Hostname inside the sandbox (the app name). */
  hostname: string;
  binds: Bind[];
  /** Working directory inside the sandbox. */
  cwd: string;
  /** The program and its arguments, run inside the sandbox. */
  argv: string[];
  /**
   * The program's full environment (base env + config vars). Sandboxed, it
   * only ever exists inside the sandbox, after the privilege drop.
   */
  env: Record<string, string>;
  /** Run without a sandbox at all (GANTRY_UNSAFE_NO_SANDBOX=1). Binds are then ignored. */
  unsafe?: boolean;
  /** Override for tests: pretend to be (non-)root. */
  asRoot?: boolean;
}

export interface SandboxCommand {
  /** Absolute path of the program to spawn (bwrap, unless unsafe). */
  file: string;
  args: string[];
  /** When unsafe, the host cwd to use (the bind mounted at cwd). */
  cwd?: string;
  /** Environment of the spawned process itself: {@link PRIVILEGED_ENV} when sandboxed. */
  env: Record<string, string>;
  /**
   * Sandboxed only: the caller MUST open fd {@link ENV_FD} as a pipe, write
   * this to it and close it (bwrap reads it to EOF before starting anything).
   */
  envFileData?: string;
}

/** The extra fd bwrap reads the app environment from. */
export const ENV_FD = 3;
/** Where the app environment lives inside the sandbox (read-only, 0444). */
export const ENV_FILE = '/run/gantry/env';
/** The only environment bwrap and setpriv ever see: nothing from the app. */
export const PRIVILEGED_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: MINIMAL_PATH,
  LANG: 'C.UTF-8',
});

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quotes a value for POSIX sh: inside single quotes only `'` itself is special. */
const shQuote = (v: string): string => `'${v.replaceAll("'", `'\\''`)}'`;

/**
 * The env file: `export KEY='value'` lines, sourced by sh inside the sandbox.
 * Throws GANTRY_INVALID_CONFIG for a key that is not a shell name or a value
 * with a NUL byte (neither can be an environment variable anyway).
 */
export function envFileData(env: Record<string, string>): string {
  let out = '';
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY.test(k))
      throw new GantryError(
        'GANTRY_INVALID_CONFIG',
        `invalid environment variable name: ${JSON.stringify(k)}`,
      );
    if (v.includes('\0'))
      throw new GantryError('GANTRY_INVALID_CONFIG', `environment variable ${k} contains a NUL byte`);
    out += `export ${k}=${shQuote(v)}\n`;
  }
  return out;
}

/** Loads the env file, then becomes the original argv (same pid: `exec`). */
const ENV_LOADER = ['/bin/sh', '-c', `. ${ENV_FILE} && exec "$@"`, 'gantry-env'];

const resolved = new Map<string, string>();

/**
 * Absolute path of a privileged helper (bwrap, setpriv), looked up once in
 * Gantry's own PATH then the standard dirs — never in anything the app sets.
 * Relative PATH entries are ignored.
 */
export function resolveHelper(name: string): string {
  const hit = resolved.get(name);
  if (hit) return hit;
  const dirs = [...(process.env.PATH ?? '').split(':'), ...MINIMAL_PATH.split(':')];
  for (const dir of dirs) {
    if (!isAbsolute(dir)) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
    } catch {
      continue; // not here: try the next dir
    }
    resolved.set(name, file);
    return file;
  }
  throw new GantryError('GANTRY_SANDBOX_UNAVAILABLE', `${name} is not installed`);
}

/** Pins the helper's absolute path (the startup check found and tested it). */
export function setHelperPath(name: string, file: string): void {
  if (!isAbsolute(file)) throw new GantryError('GANTRY_INTERNAL', `${name} path must be absolute: ${file}`);
  resolved.set(name, file);
}

const SYSTEM_DIRS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt'];

/**
 * The system directory (mounted read-only into every sandbox) that contains
 * `path`, if any.
 */
export function sandboxVisibleDir(path: string): string | undefined {
  return SYSTEM_DIRS.find((d) => path === d || path.startsWith(`${d}/`));
}

/**
 * Why Gantry's data dir would be readable by apps, or undefined if it is not.
 * As root, apps run as other uids and the 0700 data dir keeps them out wherever
 * it is; without root they run as Gantry's own uid, so the data dir must not be
 * inside a directory mounted into every sandbox.
 */
export function dataDirExposure(dataDir: string, opts: { root: boolean }): string | undefined {
  const dir = sandboxVisibleDir(dataDir);
  if (!dir || opts.root) return undefined;
  return `GANTRY_DATA_DIR ${dataDir} is inside ${dir}, which every app sandbox can read (apps run as Gantry's own user when it is not root): use a directory such as ~/.local/share/gantry`;
}

let systemArgsCache: string[] | undefined;

/** bwrap args exposing the host's system dirs read-only, symlinks kept as symlinks (merged /usr). */
function systemArgs(): string[] {
  if (systemArgsCache) return systemArgsCache;
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    if (!existsSync(dir)) continue;
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (st.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  systemArgsCache = args;
  return args;
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Builds the argv that runs `opts.argv` inside the sandbox. */
export function sandboxCommand(opts: SandboxOptions): SandboxCommand {
  if (opts.unsafe) {
    const host = opts.binds.find((b) => b.dest === opts.cwd);
    const [file, ...args] = opts.argv;
    // Explicitly unsafe: the app's env is the spawned process's env.
    return { file: file!, args, cwd: host?.src, env: opts.env };
  }
  const root = opts.asRoot ?? isRoot();
  const args = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    opts.hostname,
    ...systemArgs(),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // bwrap makes a tmpfs root-owned 0755: the app's uid must be able to write its /tmp.
    '--perms',
    '1777',
    '--tmpfs',
    '/tmp',
  ];
  for (const b of opts.binds) args.push(b.writable ? '--bind' : '--ro-bind', b.src, b.dest);
  args.push('--chdir', opts.cwd, '--perms', '0444', '--ro-bind-data', String(ENV_FD), ENV_FILE);
  const inner = [...ENV_LOADER, ...opts.argv];
  if (root) {
    const gid = opts.gid ?? opts.uid;
    args.push(
      '--',
      resolveHelper('setpriv'),
      `--reuid=${opts.uid}`,
      `--regid=${gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      ...inner,
    );
  } else {
    args.push('--unshare-user', '--cap-drop', 'ALL', '--', ...inner);
  }
  return {
    file: resolveHelper('bwrap'),
    args,
    env: { ...PRIVILEGED_ENV },
    envFileData: envFileData(opts.env),
  };
}

/** Environment every sandboxed process starts from (before config vars). */
export function baseSandboxEnv(home = '/data'): Record<string, string> {
  return {
    PATH: '/app/.venv/bin:/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: home,
    TMPDIR: '/tmp',
    PYTHONUNBUFFERED: '1',
  };
}
