/**
 * The audit log: who did what to what, from where. Appends never throw (an
 * audit failure must not undo or fail the change it records; it is logged).
 * Ids are time-ordered (UUIDv7 with a per-millisecond counter) so events in
 * the same millisecond still list newest first.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../store/index.js';
import type { Logger } from '../log/index.js';
import { GantryError } from '../errors/index.js';
import type { Actor, AuditAction, AuditEvent } from './types.js';

export interface AuditFilter {
  /** 1…1000, default 100. */
  limit?: number;
  /** ISO time: only events strictly before it. */
  before?: string;
  action?: string;
  actor?: string;
  target?: string;
}

export const MAX_AUDIT_LIMIT = 1000;

let lastMs = 0;
let seq = 0;

/** A UUIDv7: 48-bit ms timestamp, then a 12-bit counter, then random bits; sorts in creation order. */
export function timeOrderedId(ms: number = Date.now()): string {
  if (ms <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      // More than 4096 ids in one millisecond: borrow the next one.
      lastMs++;
      seq = 0;
    }
  } else {
    lastMs = ms;
    seq = 0;
  }
  const b = randomBytes(16);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class AuditLog {
  readonly #db: Database;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(opts: { db: Database; logger: Logger; now?: () => number }) {
    this.#db = opts.db;
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  async record(
    by: Actor,
    action: AuditAction,
    target: string | null,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    const ms = this.#now();
    const row = {
      id: timeOrderedId(ms),
      at: new Date(ms).toISOString(),
      actor: by.username,
      action,
      target,
      ip: by.ip,
      detail: '{}',
    };
    try {
      row.detail = JSON.stringify(detail);
      await this.#db.insertInto('audit_log').values(row).execute();
    } catch (err) {
      this.#logger.error({ err, audit: { ...row, detail } }, 'could not write the audit log');
    }
  }

  /** Newest first. */
  async list(filter: AuditFilter): Promise<AuditEvent[]> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), MAX_AUDIT_LIMIT);
    let q = this.#db.selectFrom('audit_log').selectAll();
    if (filter.before !== undefined) {
      const t = new Date(filter.before);
      if (Number.isNaN(t.getTime()))
        throw new GantryError(
          'GANTRY_BAD_REQUEST',
          `invalid "before" time ${JSON.stringify(filter.before)}: use ISO-8601, e.g. 2024-05-01T12:00:00Z`,
        );
      q = q.where('at', '<', t.toISOString());
    }
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.actor) q = q.where('actor', '=', filter.actor);
    if (filter.target) q = q.where('target', '=', filter.target);
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      ip: r.ip,
      detail: parseDetail(r.detail),
    }));
  }
}

function parseDetail(s: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(s);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
