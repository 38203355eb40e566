/**
 * The cgroup hierarchies of this host: where they are mounted, where Gantry's
 * own cgroup is in them, and the preparation of Gantry's `gantry/` subtree
 * (v1: one per controller hierarchy; v2: one, with controllers handed down).
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Logger } from '../log/index.js';
import { isErrno, writeCg } from './cgroup.js';

export const LIMITED = ['memory', 'cpu', 'pids'] as const;
export type Limited = (typeof LIMITED)[number];
/** v1 also needs cpuacct, to read CPU time. */
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export interface MountInfo {
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

/** Parses /proc/self/mountinfo (mount points have spaces etc. escaped as `\NNN` octal). */
export function parseMountinfo(text: string): MountInfo[] {
  const unescape = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const [fstype, , superOpts] = post.split(' ');
    if (f.length < 5 || !fstype) continue;
    out.push({
      root: unescape(f[3]!),
      mountPoint: unescape(f[4]!),
      fstype,
      superOptions: (superOpts ?? '').split(','),
    });
  }
  return out;
}

/** Parses /proc/self/cgroup: `ID:CONTROLLERS:PATH` lines (v2: `0::PATH`). */
export function parseProcCgroup(text: string): { controllers: string[]; path: string }[] {
  const out: { controllers: string[]; path: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.push({ controllers: m[1] ? m[1].split(',') : [], path: m[2]! });
  }
  return out;
}

/** Directory of cgroup `path` under a mount of the hierarchy (whose own root may be a sub-cgroup, in containers). */
export function cgroupDir(mount: MountInfo, path: string): string {
  const rel = posix.relative(mount.root, path);
  return rel.startsWith('..') ? mount.mountPoint : join(mount.mountPoint, rel);
}

const tokens = (file: string): string[] => readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);

export interface Prepared {
  bases: Partial<Record<V1Controller, string>>;
  memsw: boolean;
}

export function prepareV1(mounts: MountInfo[], own: { controllers: string[]; path: string }[]): Prepared {
  const bases: Prepared['bases'] = {};
  for (const c of V1_CONTROLLERS) {
    const mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(c));
    if (!mount) continue;
    const path = own.find((o) => o.controllers.includes(c))?.path ?? '/';
    const dir = join(cgroupDir(mount, path), 'gantry');
    mkdirSync(dir, { recursive: true });
    // Without CONFIG_CFS_BANDWIDTH the cpu controller cannot cap, only weigh.
    if (c === 'cpu' && !exists(join(dir, 'cpu.cfs_quota_us'))) continue;
    bases[c] = dir;
  }
  const memsw = bases.memory !== undefined && exists(join(bases.memory, 'memory.memsw.limit_in_bytes'));
  return { bases, memsw };
}

export function prepareV2(
  mount: MountInfo,
  own: { controllers: string[]; path: string }[],
  logger: Logger,
): Prepared {
  const path = own.find((o) => o.controllers.length === 0)?.path ?? '/';
  const base = cgroupDir(mount, path);
  const available = new Set(tokens(join(base, 'cgroup.controllers')));
  const ctrls = LIMITED.filter((c) => available.has(c));
  if (ctrls.length === 0)
    throw new Error(`Gantry's cgroup ${path} is given none of the memory, cpu and pids controllers`);
  try {
    enableSubtree(base, ctrls);
  } catch (e) {
    if (!isErrno(e, 'EBUSY')) throw e;
    const procs = tokens(join(base, 'cgroup.procs')).map(Number);
    if (procs.some((p) => p !== process.pid))
      throw new Error(
        `Gantry's cgroup ${path} also holds other processes, so it cannot hand controllers to app cgroups ` +
          '(the v2 "no internal processes" rule): run Gantry in a cgroup of its own (systemd: Delegate=yes)',
        { cause: e },
      );
    const leaf = join(base, 'gantry-server');
    mkdirSync(leaf, { recursive: true });
    writeCg(join(leaf, 'cgroup.procs'), String(process.pid));
    logger.info({ cgroup: leaf }, 'moved Gantry into a leaf cgroup, so app cgroups can have controllers');
    enableSubtree(base, ctrls);
  }
  const dir = join(base, 'gantry');
  mkdirSync(dir, { recursive: true });
  enableSubtree(dir, ctrls);
  const bases: Prepared['bases'] = {};
  for (const c of ctrls) bases[c] = dir;
  // v2 reads CPU time from cpu.stat, which every cgroup has.
  bases.cpuacct = dir;
  return { bases, memsw: false };
}

/** Hands `ctrls` to the children of `dir` (one write; the kernel applies all or none). */
export function enableSubtree(dir: string, ctrls: readonly string[]): void {
  const file = join(dir, 'cgroup.subtree_control');
  const on = new Set(tokens(file));
  const missing = ctrls.filter((c) => !on.has(c));
  if (missing.length > 0) writeCg(file, missing.map((c) => `+${c}`).join(' '));
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return false;
    throw e;
  }
}
