/**
 * One-off runs (release phase, `gantry run`, cron): a command in the app's
 * sandbox, with its limits, until it exits, times out or is aborted.
 */
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { CgroupManager } from './cgroups.js';
import { TailBuffer } from './lines.js';
import { SandboxedProcess } from './process.js';
import { oomMessage, unenforcedNote } from './resources.js';
import { describeExit } from './supervisor.js';
import type { LogSink, OneOffResult, OneOffSpec } from './types.js';

/** SIGTERM → SIGKILL grace of a one-off that times out or is aborted. */
export const ONE_OFF_KILL_GRACE_MS = 2000;

export interface OneOffContext {
  unsafe: boolean;
  logSink: LogSink;
  logger: Logger;
  cgroups: CgroupManager;
  /** Live one-off processes: the runtime stops them on close. */
  running: Set<SandboxedProcess>;
}

/** Runs `spec` (already validated, data dir prepared) to its end. */
export async function runOneOff(spec: OneOffSpec, ctx: OneOffContext): Promise<OneOffResult> {
  const system = (text: string): void =>
    ctx.logSink({ app: spec.app, process: spec.name, stream: 'system', time: new Date(), text });
  const short = spec.name.startsWith(`${spec.app}.`) ? spec.name.slice(spec.app.length + 1) : spec.name;
  const cg = ctx.cgroups.create({ app: spec.app, name: short, limits: spec.limits });
  const note = unenforcedNote(spec.limits, cg, ctx.cgroups.support.reason);
  if (note) system(note);
  const tail = new TailBuffer(64 * 1024);
  system(`Starting process with command \`${spec.command}\``);
  const proc = SandboxedProcess.start({
    app: spec.app,
    name: spec.name,
    slugPath: spec.slugPath,
    dataPath: spec.dataPath,
    uid: spec.uid,
    env: spec.env,
    command: spec.command,
    unsafe: ctx.unsafe,
    logSink: ctx.logSink,
    onOutput: (text) => {
      tail.append(text);
      spec.onOutput?.(text);
    },
    cgroup: cg,
  });
  ctx.running.add(proc);
  const stop = (why: string): void => {
    system(why);
    proc
      .terminate(ONE_OFF_KILL_GRACE_MS)
      .catch((err: unknown) => ctx.logger.error({ err, process: spec.name }, 'cannot stop one-off'));
  };
  let timer: NodeJS.Timeout | undefined;
  if (spec.timeoutMs !== undefined)
    timer = setTimeout(() => stop(`Timed out after ${spec.timeoutMs} ms, stopping`), spec.timeoutMs);
  const onAbort = (): void => stop('Aborted, stopping');
  if (spec.signal?.aborted) onAbort();
  else spec.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const info = await proc.exited;
    const oomKilled = cg !== undefined && cg.oomKills() > 0;
    if (oomKilled) system(oomMessage(short, cg.limits));
    system(describeExit(info));
    if (info.error) throw new GantryError('GANTRY_EXEC_FAILED', describeExit(info), { cause: info.error });
    return {
      exitCode: info.code,
      signal: info.signal,
      output: tail.toString(),
      oomKilled,
    };
  } finally {
    clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
    ctx.running.delete(proc);
    await cg
      ?.destroy()
      .catch((err: unknown) => ctx.logger.error({ err, process: spec.name }, 'cannot remove cgroup'));
  }
}
