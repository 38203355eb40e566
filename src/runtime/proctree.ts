/**
 * Process-tree helpers over /proc (Linux). Used to signal the app inside a
 * sandbox: with `--unshare-pid`, bwrap's child is an init process (pid 1 in
 * the namespace) that ignores SIGTERM, so signalling the bwrap pid alone
 * would never reach the app.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

function isErrno(e: unknown, ...codes: string[]): boolean {
  return e instanceof Error && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

let haveChildrenFile: boolean | undefined;

/** Direct children of `pid` (every thread's children). Empty if it is gone. */
export function childrenOf(pid: number): number[] {
  // Kernels without CONFIG_PROC_CHILDREN lack the file: scan /proc instead.
  haveChildrenFile ??= existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  if (!haveChildrenFile) return scanChildren(pid);
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ESRCH')) return [];
    throw e;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch (e) {
      // A thread may exit between readdir and read.
      if (isErrno(e, 'ENOENT', 'ESRCH')) continue;
      throw e;
    }
    for (const s of text.split(' ')) if (s.trim()) out.push(Number(s));
  }
  return out;
}

/** Fallback: scan every /proc/N/stat for its parent pid. */
function scanChildren(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (parentOf(Number(name)) === pid) out.push(Number(name));
  }
  return out;
}

/** Parent pid, or undefined if the process is gone. */
export function parentOf(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ESRCH')) return undefined;
    throw e;
  }
  // The command name may contain spaces and parens; fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}

/** Every descendant of `pid`, parents before children. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

/** Real uid of a process, or undefined if it is gone. */
export function uidOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^Uid:\s+(\d+)/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ESRCH')) return undefined;
    throw e;
  }
}

/** Pids of every process whose real uid is `uid` (leak checks in tests and at shutdown). */
export function pidsOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name) && uidOf(Number(name)) === uid) out.push(Number(name));
  }
  return out;
}

const SHELLS = new Set(['sh', 'dash', 'bash', 'ash', 'zsh', 'ksh', 'mksh', 'busybox']);

/** True if the process runs a POSIX shell binary. */
export function isShell(pid: number): boolean {
  try {
    return SHELLS.has(basename(readlinkSync(`/proc/${pid}/exe`)));
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ESRCH', 'EACCES')) return false;
    throw e;
  }
}

/** Sends a signal, ignoring processes that are already gone. Returns true if delivered. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (e) {
    if (isErrno(e, 'ESRCH')) return false;
    throw e;
  }
}

/** Kernel clock ticks per second in /proc/PID/stat: USER_HZ, 100 on every Linux ABI. */
const USER_HZ = 100;

/**
 * Resident memory and cumulative CPU time of `pid` and its descendants (the
 * fallback when there is no cgroup to ask). CPU includes reaped children
 * (cutime/cstime), so short-lived helpers are counted; RSS of shared pages is
 * counted once per process, so it overstates a little.
 */
export function treeUsage(pid: number): { memoryBytes: number; cpuUsec: number } {
  let memoryBytes = 0;
  let ticks = 0;
  for (const p of [pid, ...descendantsOf(pid)]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // utime stime cutime cstime: fields 14-17, i.e. 11-14 after the command name.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (rss) memoryBytes += Number(rss[1]) * 1024;
    } catch (e) {
      // Exited while we looked: its time moves to its parent's cutime.
      if (isErrno(e, 'ENOENT', 'ESRCH')) continue;
      throw e;
    }
  }
  return { memoryBytes, cpuUsec: Math.round((ticks * 1_000_000) / USER_HZ) };
}
