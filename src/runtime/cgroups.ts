/**
 * Resource limits with cgroups: finds the hierarchy (v2 unified, or v1 with a
 * mount per controller), prepares Gantry's subtree, and makes one cgroup per
 * process run (see cgroup.ts).
 *
 * Layout: `<Gantry's own cgroup>/gantry/<app>/<type>.<n>-<rand>`. Nesting
 * under Gantry's own cgroup means whatever confines Gantry (a systemd unit, a
 * container) confines its apps too. On v2 the "no internal processes" rule
 * applies: a cgroup that hands controllers to children may hold no process
 * itself. `gantry/` and `gantry/<app>/` never do; Gantry's own cgroup does
 * (Gantry), so unless it is the root, Gantry first moves itself into a leaf
 * `gantry-server/` beside `gantry/` — only when it is alone there (a systemd
 * unit with `Delegate=yes`); otherwise limits are reported as not enforced.
 *
 * Detection and creation are synchronous and cheap (a few mkdir/write calls on
 * cgroupfs: well under a millisecond), as they sit on the cold-start path.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import { isErrno, ProcessCgroup, type CgroupDirs } from './cgroup.js';
import {
  enableSubtree,
  LIMITED,
  parseMountinfo,
  parseProcCgroup,
  prepareV1,
  prepareV2,
  V1_CONTROLLERS,
  type Limited,
  type MountInfo,
  type V1Controller,
} from './hierarchy.js';
import type { ResourceLimits } from './types.js';

export type CgroupVersion = 'v1' | 'v2';
export { cgroupDir, parseMountinfo, parseProcCgroup, type MountInfo } from './hierarchy.js';
/** What the host's cgroups can do for Gantry (the detection result). */
export interface CgroupSupport {
  /** The hierarchy in use; null when none is usable. */
  version: CgroupVersion | null;
  /** Which limits are enforced. */
  enforces: Record<Limited, boolean>;
  /** Why some or all limits are not enforced (shown by `gantry limits`). */
  reason?: string;
}

/** A path component from an app, type or run name: nothing that could climb or nest. */
const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || '_';

/** Stale leaves (left by a crashed Gantry) older than this are removed at startup. */
const STALE_MS = 60_000;

export interface DetectOptions {
  logger: Logger;
  /** Overrides for tests. */
  mountinfo?: string;
  procSelfCgroup?: string;
}

/** Makes the cgroups of process runs; one per runtime. */
export class CgroupManager {
  readonly support: CgroupSupport;
  readonly #logger: Logger;
  /** The `gantry/` directory of each controller (v2: one directory for all). */
  readonly #bases: Partial<Record<V1Controller, string>>;
  readonly #memsw: boolean;
  /** v2: app directories whose subtree_control is already set. */
  readonly #apps = new Set<string>();

  private constructor(
    logger: Logger,
    support: CgroupSupport,
    bases: Partial<Record<V1Controller, string>> = {},
    memsw = false,
  ) {
    this.#logger = logger;
    this.support = support;
    this.#bases = bases;
    this.#memsw = memsw;
  }

  /** A manager that enforces nothing, saying why (unsafe dev setups, tests, other backends). */
  static disabled(logger: Logger, reason: string): CgroupManager {
    return new CgroupManager(logger, { version: null, enforces: none(), reason });
  }

  /** Finds the hierarchy and prepares Gantry's subtree. Never throws: problems end up in `support.reason`. */
  static detect(opts: DetectOptions): CgroupManager {
    const { logger } = opts;
    let mounts: MountInfo[];
    let own: { controllers: string[]; path: string }[];
    try {
      mounts = parseMountinfo(opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
      own = parseProcCgroup(opts.procSelfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
    } catch (e) {
      return CgroupManager.disabled(logger, `cannot read this process's cgroups: ${String(e)}`);
    }
    const v1Memory = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'));
    const v2 = mounts.find((m) => m.fstype === 'cgroup2');
    // Hybrid hosts mount both; the controllers live where v1 has them.
    const version: CgroupVersion | null = v1Memory ? 'v1' : v2 ? 'v2' : null;
    if (!version)
      return CgroupManager.disabled(logger, 'no cgroup hierarchy found (is /sys/fs/cgroup mounted?)');
    try {
      const m = version === 'v1' ? prepareV1(mounts, own) : prepareV2(v2!, own, logger);
      const enforces = none();
      for (const c of LIMITED) enforces[c] = m.bases[c] !== undefined;
      const missing = LIMITED.filter((c) => !enforces[c]);
      const reason =
        missing.length === 0
          ? undefined
          : `cgroup ${version}: no ${missing.join('/')} controller available to Gantry, so ${missing.map((c) => `--${c}`).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not enforced`;
      const mgr = new CgroupManager(logger, { version, enforces, reason }, m.bases, m.memsw);
      mgr.#sweep();
      return mgr;
    } catch (e) {
      const uid = process.getuid?.();
      const why = isErrno(e, 'EACCES', 'EPERM', 'EROFS')
        ? `cgroup ${version} is not writable by Gantry (uid ${uid}): resource limits need root, or a delegated cgroup v2 subtree`
        : `cgroup ${version}: ${e instanceof Error ? e.message : String(e)}`;
      logger.warn({ err: e }, `resource limits are not enforced: ${why}`);
      return new CgroupManager(logger, { version: null, enforces: none(), reason: why });
    }
  }

  /** True when at least one kind of limit is enforced (and usage can be read from cgroups). */
  get enabled(): boolean {
    return Object.values(this.support.enforces).some(Boolean);
  }

  /**
   * A fresh cgroup for one process run, with the limits this host enforces.
   * Undefined when cgroups are not usable. If making it fails, throws when
   * limits were asked for (a process must not run unlimited behind its
   * owner's back); otherwise logs and returns undefined.
   */
  create(opts: { app: string; name: string; limits?: ResourceLimits }): ProcessCgroup | undefined {
    if (!this.enabled) return undefined;
    const leaf = `${safe(opts.name)}-${randomBytes(4).toString('hex')}`;
    const name = `gantry/${safe(opts.app)}/${leaf}`;
    const made: string[] = [];
    try {
      const dirs: CgroupDirs = { version: this.support.version!, all: made, memsw: this.#memsw };
      const byBase = new Map<string, string>();
      for (const c of V1_CONTROLLERS) {
        const base = this.#bases[c];
        if (base === undefined) continue;
        let dir = byBase.get(base);
        if (dir === undefined) {
          const appDir = join(base, safe(opts.app));
          // Made afresh whenever the app's last run took it away (see ProcessCgroup.destroy).
          const fresh = mkdirSync(appDir, { recursive: true }) !== undefined;
          if (dirs.version === 'v2' && (fresh || !this.#apps.has(appDir))) {
            enableSubtree(
              appDir,
              LIMITED.filter((l) => this.support.enforces[l]),
            );
            this.#apps.add(appDir);
          }
          dir = join(appDir, leaf);
          // Recursive: another Gantry sharing the hierarchy (tests) may just have removed appDir.
          mkdirSync(dir, { recursive: true });
          made.push(dir);
          byBase.set(base, dir);
        }
        dirs[c] = dir;
      }
      return new ProcessCgroup(dirs, name, opts.limits ?? {});
    } catch (e) {
      for (const dir of made) rmdirQuiet(dir, this.#logger);
      const limited = Object.values(opts.limits ?? {}).some((v) => v !== undefined);
      if (limited) throw e;
      this.#logger.warn({ err: e, cgroup: name }, 'cannot make a cgroup; running without one');
      return undefined;
    }
  }

  /** Removes empty leaves a crashed Gantry left behind (its processes died with it: --die-with-parent). */
  #sweep(): void {
    const cutoff = Date.now() - STALE_MS;
    for (const base of new Set(Object.values(this.#bases))) {
      try {
        for (const app of subdirs(base)) {
          for (const leaf of subdirs(join(base, app))) {
            const dir = join(base, app, leaf);
            if (statSync(dir).mtimeMs < cutoff && readFileSync(join(dir, 'cgroup.procs'), 'utf8') === '')
              rmdirQuiet(dir, this.#logger);
          }
          rmdirQuiet(join(base, app), this.#logger);
        }
      } catch (e) {
        this.#logger.warn({ err: e, dir: base }, 'cannot sweep stale cgroups');
      }
    }
  }
}

function none(): Record<Limited, boolean> {
  return { memory: false, cpu: false, pids: false };
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}

function rmdirQuiet(dir: string, logger: Logger): void {
  try {
    rmdirSync(dir);
  } catch (e) {
    // Busy (a process is still in it) or already gone: a later sweep or destroy handles it.
    if (!isErrno(e, 'EBUSY', 'ENOENT')) logger.warn({ err: e, dir }, 'cannot remove cgroup');
  }
}
