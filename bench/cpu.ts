/**
 * CPU time of processes from /proc (Linux), so the benchmark can report what each proxy
 * costs per request: unlike req/s, that figure stays meaningful on a busy machine.
 */
import { readFile } from 'node:fs/promises';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** utime + stime of one process, in milliseconds; 0 if it is gone. */
async function cpuMsOf(pid: number): Promise<number> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the parenthesised command name (which may contain spaces): state is #3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SEC;
}

/** The process and its direct children (nginx master + workers). */
export async function withChildren(pid: number): Promise<number[]> {
  try {
    const kids = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return [pid, ...kids.split(' ').filter(Boolean).map(Number)];
  } catch {
    return [pid];
  }
}

/** Total CPU milliseconds used so far by these processes. */
export async function cpuMs(pids: readonly number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await cpuMsOf(pid);
  return sum;
}
