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
 * The environment is passed through bwrap's own environment (not argv), so
 * config values never appear in a host-visible command line.
 */
import { lstatSync, readlinkSync, existsSync } from 'node:fs';

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
  /** Run without a sandbox at all (GANTRY_UNSAFE_NO_SANDBOX=1). Binds are then ignored. */
  unsafe?: boolean;
  /** Override for tests: pretend to be (non-)root. */
  asRoot?: boolean;
}

export interface SandboxCommand {
  file: string;
  args: string[];
  /** When unsafe, the host cwd to use (the bind mounted at cwd). */
  cwd?: string;
}

const SYSTEM_DIRS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt'];

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
    return { file: file!, args, cwd: host?.src };
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
  args.push('--chdir', opts.cwd);
  if (root) {
    const gid = opts.gid ?? opts.uid;
    args.push(
      '--',
      'setpriv',
      `--reuid=${opts.uid}`,
      `--regid=${gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      ...opts.argv,
    );
  } else {
    args.push('--unshare-user', '--cap-drop', 'ALL', '--', ...opts.argv);
  }
  return { file: 'bwrap', args };
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
