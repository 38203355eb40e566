import { randomBytes } from 'node:crypto';
import type { AppEvent } from '../api/platform.js';
import { GantryError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Database } from '../store/index.js';

/** Kinds Gantry records; other modules may add their own (any string is stored). */
export type AppEventKind =
  'start' | 'stop' | 'crash' | 'oom' | 'restart' | 'wake' | 'sleep' | 'scale' | 'deploy' | 'release' | 'cron';

export interface EventInput {
  kind: AppEventKind | (string & {});
  /** `APP.TYPE.N` for process events, null/absent for app-wide ones. */
  process?: string | null;
  /** One sentence for people, e.g. "web.1 crashed: Process exited with status 1; restarting in 2 s". */
  message: string;
  /** When it happened (default: now). */
  at?: Date;
}

export interface EventLogOptions {
  db: Database;
  logger: Logger;
  /** How long an event may wait for companions before its batch is written. */
  flushDelayMs?: number;
  /** Most events per insert; a full batch is written at once. */
  maxBatch?: number;
  /** Most events waiting in memory (database down): the oldest are dropped beyond it. */
  maxQueue?: number;
  /** Events kept per app; older ones are pruned. */
  keepPerApp?: number;
  /** Prune an app after this many new events (and on its first write after start). */
  pruneEvery?: number;
}

export type EventListener = (event: AppEvent) => void;

interface Queued {
  app: string;
  id: string;
  event: AppEvent;
}

const MAX_MESSAGE = 2000;
let seq = 0;

/**
 * Ids sort like insertion order (time, then a per-process counter) so events
 * with the same millisecond still list newest first. Only [0-9a-f] so every
 * collation orders them bytewise.
 */
function nextId(): string {
  seq = (seq + 1) % 0x10000000;
  return (
    Date.now().toString(16).padStart(12, '0') +
    seq.toString(16).padStart(7, '0') +
    randomBytes(4).toString('hex')
  );
}

/**
 * The app event history behind `gantry events`: starts, stops, crashes, OOM
 * kills, wakes, sleeps, scaling decisions. Callers are hot paths (runtime
 * callbacks, the router's activator, the scaler), so `record` only queues;
 * events are written in batches, and the newest `keepPerApp` are kept per app.
 */
export class EventLog {
  readonly #db: Database;
  readonly #logger: Logger;
  readonly #flushDelayMs: number;
  readonly #maxBatch: number;
  readonly #maxQueue: number;
  readonly #keep: number;
  readonly #pruneEvery: number;
  #queue: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;
  #closed = false;
  #overflowing = false;
  /** Events written per app id since its last prune. */
  readonly #sincePrune = new Map<string, number>();
  readonly #listeners = new Map<string, Set<EventListener>>();

  constructor(opts: EventLogOptions) {
    this.#db = opts.db;
    this.#logger = opts.logger;
    this.#flushDelayMs = opts.flushDelayMs ?? 250;
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 200);
    this.#maxQueue = Math.max(this.#maxBatch, opts.maxQueue ?? 10_000);
    this.#keep = Math.max(1, opts.keepPerApp ?? 1000);
    this.#pruneEvery = Math.max(1, opts.pruneEvery ?? 100);
  }

  /**
   * Queues an event of `app` (by name) and tells its subscribers at once.
   * Never throws and never waits: the write happens later, in a batch; an
   * event of an app that does not exist (anymore) when written is dropped.
   */
  record(app: string, e: EventInput): void {
    try {
      if (this.#closed) {
        this.#logger.debug({ app, kind: e.kind }, 'event after close dropped');
        return;
      }
      const at = e.at && !Number.isNaN(e.at.getTime()) ? e.at : new Date();
      const message = String(e.message);
      const event: AppEvent = {
        at: at.toISOString(),
        kind: String(e.kind),
        process: e.process ?? null,
        message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
      };
      if (this.#queue.length >= this.#maxQueue) {
        this.#queue.shift();
        if (!this.#overflowing)
          this.#logger.warn({ max: this.#maxQueue }, 'app event queue full; dropping the oldest');
        this.#overflowing = true;
      }
      this.#queue.push({ app, id: nextId(), event });
      this.#notify(app, event);
      this.#schedule();
    } catch (err) {
      this.#logger.error({ err, app }, 'cannot record app event');
    }
  }

  /**
   * Newest first, at most `limit` (capped at the retention). `before`: only
   * events strictly older than this time (an `AppEvent.at` of a previous page).
   * An unknown app has no events.
   */
  async list(app: string, opts: { limit: number; before?: Date | string }): Promise<AppEvent[]> {
    const limit = Math.min(Math.max(0, Math.floor(opts.limit)), this.#keep);
    let before: string | undefined;
    if (opts.before !== undefined) {
      const d = opts.before instanceof Date ? opts.before : new Date(opts.before);
      if (Number.isNaN(d.getTime()))
        throw new GantryError('GANTRY_BAD_REQUEST', '`before` is not a valid time');
      before = d.toISOString();
    }
    if (limit === 0) return [];
    await this.flush();
    let q = this.#db
      .selectFrom('app_events')
      .innerJoin('apps', 'apps.id', 'app_events.app_id')
      .select(['app_events.at', 'app_events.kind', 'app_events.process', 'app_events.message'])
      .where('apps.name', '=', app);
    if (before !== undefined) q = q.where('app_events.at', '<', before);
    const rows = await q
      .orderBy('app_events.at', 'desc')
      .orderBy('app_events.id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ at: r.at, kind: r.kind, process: r.process, message: r.message }));
  }

  /** Live events of one app (as recorded, before they are written). Returns the unsubscribe function. */
  subscribe(app: string, listener: EventListener): () => void {
    let set = this.#listeners.get(app);
    if (!set) this.#listeners.set(app, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(app) === set) this.#listeners.delete(app);
    };
  }

  /** Resolves once every event recorded so far has been written (or dropped with a logged error). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining) await this.#drain();
  }

  /** Writes what is queued; later `record` calls are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #notify(app: string, event: AppEvent): void {
    const set = this.#listeners.get(app);
    if (!set) return;
    for (const l of set) {
      try {
        l(event);
      } catch (err) {
        this.#logger.error({ err, app }, 'app event listener failed');
      }
    }
  }

  #schedule(): void {
    if (this.#draining) return; // the running drain loops until the queue is empty
    if (this.#queue.length >= this.#maxBatch) {
      this.#drain().catch((err: unknown) => this.#logger.error({ err }, 'writing app events failed'));
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain().catch((err: unknown) => this.#logger.error({ err }, 'writing app events failed'));
    }, this.#flushDelayMs);
    this.#timer.unref();
  }

  /** One drain at a time; it takes batches until the queue is empty. */
  #drain(): Promise<void> {
    this.#draining ??= (async () => {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      try {
        while (this.#queue.length > 0) await this.#write(this.#queue.splice(0, this.#maxBatch));
        this.#overflowing = false;
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  async #write(batch: Queued[]): Promise<void> {
    let written: Map<string, number> | undefined;
    for (let attempt = 1; written === undefined; attempt++) {
      try {
        written = await this.#insert(batch);
      } catch (err) {
        // Likely an app destroyed between the name lookup and the insert (foreign key):
        // the retry looks the names up again and leaves that app's events out.
        if (attempt >= 2) {
          this.#logger.error({ err, events: batch.length }, 'cannot write app events; dropped');
          return;
        }
        this.#logger.debug({ err }, 'writing app events failed; retrying');
      }
    }
    for (const [appId, n] of written) {
      const since = (this.#sincePrune.get(appId) ?? this.#pruneEvery) + n;
      if (since < this.#pruneEvery) {
        this.#sincePrune.set(appId, since);
        continue;
      }
      this.#sincePrune.set(appId, 0);
      try {
        await this.#prune(appId);
      } catch (err) {
        this.#logger.error({ err, appId }, 'cannot prune app events');
      }
    }
  }

  /** Inserts the batch; returns how many events each app id got. */
  async #insert(batch: Queued[]): Promise<Map<string, number>> {
    const names = [...new Set(batch.map((q) => q.app))];
    const rows = await this.#db
      .selectFrom('apps')
      .select(['id', 'name'])
      .where('name', 'in', names)
      .execute();
    const ids = new Map(rows.map((r) => [r.name, r.id]));
    const counts = new Map<string, number>();
    const values = [];
    for (const q of batch) {
      const appId = ids.get(q.app);
      if (appId === undefined) continue;
      counts.set(appId, (counts.get(appId) ?? 0) + 1);
      values.push({ id: q.id, app_id: appId, ...q.event });
    }
    const unknown = batch.length - values.length;
    if (unknown > 0) this.#logger.debug({ unknown }, 'events of unknown apps dropped');
    if (values.length > 0) await this.#db.insertInto('app_events').values(values).execute();
    return counts;
  }

  /** Deletes everything older than the app's `keep`-th newest event. */
  async #prune(appId: string): Promise<void> {
    const cutoff = await this.#db
      .selectFrom('app_events')
      .select(['at', 'id'])
      .where('app_id', '=', appId)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .offset(this.#keep - 1)
      .executeTakeFirst();
    if (!cutoff) return;
    await this.#db
      .deleteFrom('app_events')
      .where('app_id', '=', appId)
      .where((eb) =>
        eb.or([eb('at', '<', cutoff.at), eb.and([eb('at', '=', cutoff.at), eb('id', '<', cutoff.id)])]),
      )
      .execute();
  }
}
