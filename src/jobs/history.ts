/**
 * Cron run history in the `cron_runs` table: one row per run (scheduled,
 * manual or skipped), at most `keepPerJob` per job, output tail capped.
 */
import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import { GantryError } from '../errors/index.js';
import type { Database } from '../store/index.js';
import type { CronRunsTable } from '../store/schema.js';
import type { CronRunInfo } from '../api/platform.js';

/** Bytes of output kept per run: the end, where errors are. */
export const OUTPUT_TAIL_BYTES = 16 * 1024;
export const KEEP_RUNS_PER_JOB = 100;
export const INTERRUPTED_MESSAGE = 'server stopped during the run';

export interface CronRunStart {
  appId: string;
  jobId: string;
  schedule: string;
  command: string;
  trigger: CronRunInfo['trigger'];
  /** Defaults to the history's clock. */
  at?: Date;
}

export interface CronRunEnd {
  status: 'succeeded' | 'failed';
  exitCode: number | null;
  output: string;
  at?: Date;
}

/** The last `max` bytes of `text` as UTF-8, never starting in the middle of a character. */
export function tailBytes(text: string, max = OUTPUT_TAIL_BYTES): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  let start = buf.length - max;
  // Skip continuation bytes (10xxxxxx) so the tail decodes cleanly.
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start += 1;
  return buf.subarray(start).toString('utf8');
}

type Row = Selectable<CronRunsTable>;

function toInfo(r: Row, withOutput: boolean): CronRunInfo {
  const info: CronRunInfo = {
    id: r.id,
    jobId: r.job_id,
    schedule: r.schedule,
    command: r.command,
    trigger: r.trigger as CronRunInfo['trigger'],
    status: r.status as CronRunInfo['status'],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    exitCode: r.exit_code,
  };
  if (withOutput) info.output = r.output;
  return info;
}

const LIST_COLUMNS = [
  'id',
  'app_id',
  'job_id',
  'schedule',
  'command',
  'trigger',
  'status',
  'started_at',
  'finished_at',
  'exit_code',
] as const;

export class CronHistory {
  readonly #db: Database;
  readonly #keep: number;
  readonly #now: () => number;
  #seq = 0;

  constructor(db: Database, opts: { keepPerJob?: number; now?: () => number } = {}) {
    this.#db = db;
    this.#keep = opts.keepPerJob ?? KEEP_RUNS_PER_JOB;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Ids sort like start times (ms, then a per-process counter), so runs
   * started in the same millisecond still list in the order they began.
   */
  #newId(at: Date): string {
    this.#seq = (this.#seq + 1) % 36 ** 3;
    return (
      at.getTime().toString(36).padStart(9, '0') +
      this.#seq.toString(36).padStart(3, '0') +
      randomBytes(4).toString('hex')
    );
  }

  /** Records a run that begins now (status `running`). */
  async start(run: CronRunStart): Promise<CronRunInfo> {
    return this.#insert(run, { status: 'running', finished: false, output: '' });
  }

  /** Records how a started run ended, then prunes its job's old runs. */
  async finish(id: string, end: CronRunEnd): Promise<CronRunInfo> {
    const at = end.at ?? new Date(this.#now());
    const row = await this.#db
      .updateTable('cron_runs')
      .set({
        status: end.status,
        exit_code: end.exitCode,
        output: tailBytes(end.output),
        finished_at: at.toISOString(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new GantryError('GANTRY_INTERNAL', `cron run ${id} vanished before it finished`);
    await this.prune(row.app_id, row.job_id);
    return toInfo(row, true);
  }

  /** Records a scheduled run that did not start because the previous one still runs. */
  async skip(run: CronRunStart & { reason: string }): Promise<CronRunInfo> {
    const info = await this.#insert(run, { status: 'skipped', finished: true, output: run.reason });
    await this.prune(run.appId, run.jobId);
    return info;
  }

  async #insert(
    run: CronRunStart,
    how: { status: 'running' | 'skipped'; finished: boolean; output: string },
  ): Promise<CronRunInfo> {
    const when = run.at ?? new Date(this.#now());
    const at = when.toISOString();
    const row: Row = {
      id: this.#newId(when),
      app_id: run.appId,
      job_id: run.jobId,
      schedule: run.schedule,
      command: run.command,
      trigger: run.trigger,
      status: how.status,
      started_at: at,
      finished_at: how.finished ? at : null,
      exit_code: null,
      output: how.output,
    };
    await this.#db.insertInto('cron_runs').values(row).execute();
    return toInfo(row, true);
  }

  /** An app's runs, newest first, without output. */
  async list(appId: string, opts: { jobId?: string; limit: number }): Promise<CronRunInfo[]> {
    let q = this.#db.selectFrom('cron_runs').select(LIST_COLUMNS).where('app_id', '=', appId);
    if (opts.jobId !== undefined) q = q.where('job_id', '=', opts.jobId);
    const rows = await q
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.max(0, Math.floor(opts.limit)))
      .execute();
    return rows.map((r) => toInfo({ ...r, output: '' }, false));
  }

  /** One run with its output, if it belongs to the app. */
  async get(appId: string, id: string): Promise<CronRunInfo | undefined> {
    const row = await this.#db
      .selectFrom('cron_runs')
      .selectAll()
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toInfo(row, true);
  }

  /**
   * The newest run of each job that actually started (running or finished;
   * skips leave out), without output. Jobs that never ran are absent.
   */
  async lastRuns(appId: string, jobIds: readonly string[]): Promise<Map<string, CronRunInfo>> {
    const out = new Map<string, CronRunInfo>();
    for (const jobId of new Set(jobIds)) {
      const row = await this.#db
        .selectFrom('cron_runs')
        .select(LIST_COLUMNS)
        .where('app_id', '=', appId)
        .where('job_id', '=', jobId)
        .where('status', '!=', 'skipped')
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (row) out.set(jobId, toInfo({ ...row, output: '' }, false));
    }
    return out;
  }

  /** Deletes a job's finished runs beyond the newest `keepPerJob`. Returns how many went. */
  async prune(appId: string, jobId: string): Promise<number> {
    // The keepPerJob-th newest row is the boundary; OFFSET without LIMIT is not SQLite.
    const edge = await this.#db
      .selectFrom('cron_runs')
      .select(['started_at', 'id'])
      .where('app_id', '=', appId)
      .where('job_id', '=', jobId)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .offset(this.#keep - 1)
      .executeTakeFirst();
    if (!edge) return 0;
    const res = await this.#db
      .deleteFrom('cron_runs')
      .where('app_id', '=', appId)
      .where('job_id', '=', jobId)
      // A long run outlives many skipped ones: its row must stay for finish() to update.
      .where('status', '!=', 'running')
      .where((eb) =>
        eb.or([
          eb('started_at', '<', edge.started_at),
          eb.and([eb('started_at', '=', edge.started_at), eb('id', '<', edge.id)]),
        ]),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /**
   * Marks runs a crash left `running` as failed (call once at startup, before
   * any run starts). `except` lists runs this process has under way.
   */
  async recover(except: readonly string[] = []): Promise<number> {
    let q = this.#db
      .updateTable('cron_runs')
      .set({
        status: 'failed',
        finished_at: new Date(this.#now()).toISOString(),
        output: INTERRUPTED_MESSAGE,
      })
      .where('status', '=', 'running');
    if (except.length > 0) q = q.where('id', 'not in', except);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }
}
