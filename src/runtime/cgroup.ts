/**
 * One process run's cgroup (`gantry/APP/TYPE.N-RAND`): its limits, its
 * resource use and its OOM kills. {@link CgroupManager.create} makes it; the
 * runtime places the process in it with {@link ProcessCgroup.enter} before the
 * sandbox starts anything, reads it while the process runs, and removes it
 * with {@link ProcessCgroup.destroy} once the process has exited.
 *
 * Every file operation is synchronous: cgroupfs answers from memory in
 * microseconds, and placement must happen between spawn and the env write
 * without yielding to the event loop.
 */
import { closeSync, constants, openSync, readFileSync, rmdirSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GantryError } from '../errors/index.js';
import { childrenOf, signal } from './proctree.js';
import type { ResourceLimits } from './types.js';

/** The leaf directories of one cgroup: one per v1 hierarchy, a single one on v2. */
export interface CgroupDirs {
  version: 'v1' | 'v2';
  /** Every distinct directory; a process is written into each. */
  all: string[];
  memory?: string;
  cpu?: string;
  /** Where cumulative CPU time is read: v1 `cpuacct`, v2 the cgroup itself. */
  cpuacct?: string;
  pids?: string;
  /** v1: `memory.memsw.*` exists (swap accounting), so swap can be capped too. */
  memsw?: boolean;
}

/** Cumulative counters of a cgroup. */
export interface CgroupSample {
  memoryBytes?: number;
  /** CPU time used since the cgroup was made, in microseconds. */
  cpuUsec?: number;
}

const CFS_PERIOD_US = 100_000;
/** The kernel refuses CFS quotas under 1 ms. */
const CFS_MIN_QUOTA_US = 1000;
const DESTROY_POLL_MS = 10;

export function isErrno(e: unknown, ...codes: string[]): boolean {
  return e instanceof Error && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

/** Reads `key N` from a flat keyed file (memory.events, memory.stat, cpu.stat…). */
export function readKey(file: string, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/** Writes a cgroup control file: never O_CREAT (cgroupfs refuses it, and a typo must not make a file). */
export function writeCg(file: string, value: string): void {
  const fd = openSync(file, constants.O_WRONLY);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

function readNumber(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

export class ProcessCgroup {
  readonly #d: CgroupDirs;
  /** Relative name, e.g. `gantry/sales/web.1-1a2b3c4d`, for logs. */
  readonly name: string;
  /** The limits as written (only those the host can enforce). */
  readonly limits: ResourceLimits;
  #removed = false;

  /** Takes over freshly made, empty directories and writes the limits (removing them again on failure). */
  constructor(dirs: CgroupDirs, name: string, limits: ResourceLimits) {
    this.#d = dirs;
    this.name = name;
    const applied: ResourceLimits = {};
    try {
      if (limits.memoryBytes !== undefined && dirs.memory) {
        this.#memory(dirs.memory, Math.max(0, Math.floor(limits.memoryBytes)));
        applied.memoryBytes = limits.memoryBytes;
      }
      if (limits.cpu !== undefined && dirs.cpu) {
        const quota = Math.max(CFS_MIN_QUOTA_US, Math.round(limits.cpu * CFS_PERIOD_US));
        if (dirs.version === 'v2') writeCg(join(dirs.cpu, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
        else {
          writeCg(join(dirs.cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
          writeCg(join(dirs.cpu, 'cpu.cfs_quota_us'), String(quota));
        }
        applied.cpu = limits.cpu;
      }
      if (limits.pids !== undefined && dirs.pids) {
        writeCg(join(dirs.pids, 'pids.max'), String(Math.max(1, Math.floor(limits.pids))));
        applied.pids = limits.pids;
      }
    } catch (e) {
      this.#rmdirAll();
      throw new GantryError('GANTRY_INTERNAL', `cannot set the limits of cgroup ${name}: ${String(e)}`, {
        cause: e,
      });
    }
    this.limits = applied;
  }

  #memory(dir: string, bytes: number): void {
    if (this.#d.version === 'v2') {
      writeCg(join(dir, 'memory.max'), String(bytes));
      // Swap would let the process dodge its limit (and slow the whole host down); without swap
      // accounting the file is missing and there is nothing to dodge with.
      writeOptional(join(dir, 'memory.swap.max'), '0');
      // One OOM kill takes down the whole sandbox, like a container: a half-dead app (a killed
      // worker under a surviving master) would otherwise linger unnoticed.
      writeOptional(join(dir, 'memory.oom.group'), '1');
      return;
    }
    writeCg(join(dir, 'memory.limit_in_bytes'), String(bytes));
    // memsw is memory+swap: equal to the memory limit means no swap at all.
    if (this.#d.memsw) writeCg(join(dir, 'memory.memsw.limit_in_bytes'), String(bytes));
    else writeCg(join(dir, 'memory.swappiness'), '0');
  }

  /**
   * Moves `pid` and everything it has forked into this cgroup. Race-free
   * against forks: a process is moved before its children are listed, and a
   * child forked after its parent moved is born inside. Resolves false if `pid`
   * is already gone. Asynchronous because a cgroup v1 memory controller takes
   * ~10 ms per move (an RCU grace period): written on the event loop, that would
   * stall every proxied request while an app wakes.
   */
  async enter(pid: number): Promise<boolean> {
    const queue = [pid];
    for (let i = 0; i < queue.length; i++) {
      const p = queue[i]!;
      let alive = true;
      for (const dir of this.#d.all) {
        try {
          await writeFile(join(dir, 'cgroup.procs'), String(p), { flag: 'w' });
        } catch (e) {
          if (!isErrno(e, 'ESRCH')) throw e;
          alive = false;
          break;
        }
      }
      if (alive) queue.push(...childrenOf(p));
      else if (i === 0) return false;
    }
    return true;
  }

  /** How many processes of this cgroup the kernel killed for exceeding its memory limit. */
  oomKills(): number {
    const dir = this.#d.memory;
    if (!dir || this.#removed) return 0;
    const file = this.#d.version === 'v2' ? 'memory.events' : 'memory.oom_control';
    return readKey(join(dir, file), 'oom_kill') ?? 0;
  }

  /**
   * Memory in use (like `docker stats`: minus inactive page cache, which the
   * kernel reclaims before it OOM-kills) and cumulative CPU time.
   */
  sample(): CgroupSample {
    const d = this.#d;
    const out: CgroupSample = {};
    if (d.memory) {
      const v2 = d.version === 'v2';
      const used = readNumber(join(d.memory, v2 ? 'memory.current' : 'memory.usage_in_bytes'));
      const inactive = readKey(join(d.memory, 'memory.stat'), v2 ? 'inactive_file' : 'total_inactive_file');
      out.memoryBytes = Math.max(0, used - (inactive ?? 0));
    }
    if (d.cpuacct) {
      out.cpuUsec =
        d.version === 'v2'
          ? readKey(join(d.cpuacct, 'cpu.stat'), 'usage_usec')
          : Math.round(readNumber(join(d.cpuacct, 'cpuacct.usage')) / 1000);
    }
    return out;
  }

  /** Host pids in the cgroup. */
  pids(): number[] {
    const out = new Set<number>();
    for (const dir of this.#d.all) {
      let text: string;
      try {
        text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
      } catch (e) {
        if (isErrno(e, 'ENOENT')) continue;
        throw e;
      }
      for (const s of text.split('\n')) if (s) out.add(Number(s));
    }
    return [...out];
  }

  /** SIGKILL to every process in the cgroup. Returns how many there were. */
  killAll(): number {
    const left = this.pids();
    for (const p of left) signal(p, 'SIGKILL');
    return left.length;
  }

  /**
   * Kills whatever is left in the cgroup (daemons the app forked; in unsafe
   * mode even those that left its process group) and removes it. Throws
   * GANTRY_INTERNAL if it is still busy after `timeoutMs`.
   */
  async destroy(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = this.killAll();
      if (left === 0 && this.#rmdirAll()) return;
      if (Date.now() >= deadline)
        throw new GantryError(
          'GANTRY_INTERNAL',
          `cannot remove cgroup ${this.name}: ${left} processes still in it`,
        );
      await new Promise((r) => setTimeout(r, DESTROY_POLL_MS));
    }
  }

  /** True once every directory is gone; false while the kernel still counts a task (EBUSY). */
  #rmdirAll(): boolean {
    for (const dir of this.#d.all) {
      try {
        rmdirSync(dir);
      } catch (e) {
        if (isErrno(e, 'EBUSY')) return false;
        if (!isErrno(e, 'ENOENT')) throw e;
      }
    }
    this.#removed = true;
    // The app's directory goes with its last process run (busy while another one lives).
    for (const dir of this.#d.all) {
      try {
        rmdirSync(dirname(dir));
      } catch (e) {
        if (!isErrno(e, 'EBUSY', 'ENOTEMPTY', 'ENOENT')) throw e;
      }
    }
    return true;
  }
}

function writeOptional(file: string, value: string): void {
  try {
    writeCg(file, value);
  } catch (e) {
    // The controller feature is not built into this kernel: nothing to set.
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}
