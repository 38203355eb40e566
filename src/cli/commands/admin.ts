/** audit, secrets:rotate-key. (admin) */
import type { Command } from 'commander';
import { parseCount } from '../args.js';
import type { AuditFilter } from '../client.js';
import type { Context } from '../context.js';
import { heading, json, table, UsageError } from '../io.js';

export const AUDIT_MAX = 1000;

/** `{ role: 'viewer', n: 2 }` → `role=viewer n=2`. */
export function detailText(detail: Record<string, unknown> | null | undefined): string {
  return Object.entries(detail ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

interface AuditOptions {
  limit?: string;
  action?: string;
  actor?: string;
  app?: string;
  target?: string;
  before?: string;
  json?: boolean;
}

function auditFilter(opts: AuditOptions): AuditFilter {
  if (opts.app !== undefined && opts.target !== undefined) {
    throw new UsageError('give --app or --target, not both (--app NAME is --target app:NAME)');
  }
  if (opts.before !== undefined && !Number.isFinite(Date.parse(opts.before))) {
    throw new UsageError(`--before expects a date like 2026-01-31T12:00:00Z, got "${opts.before}"`);
  }
  for (const [option, value] of [
    ['--action', opts.action],
    ['--actor', opts.actor],
    ['--app', opts.app],
    ['--target', opts.target],
  ] as const) {
    if (value !== undefined && value.trim() === '') throw new UsageError(`${option} must not be empty`);
  }
  return {
    limit: opts.limit === undefined ? undefined : parseCount('--limit', opts.limit, AUDIT_MAX),
    action: opts.action,
    actor: opts.actor,
    target: opts.app !== undefined ? `app:${opts.app}` : opts.target,
    before: opts.before === undefined ? undefined : new Date(opts.before).toISOString(),
  };
}

export function registerAdmin(program: Command, ctx: Context): void {
  program
    .command('audit')
    .description('show the audit log, newest first (admin)')
    .option('-n, --limit <n>', `how many events (1–${AUDIT_MAX}; server default 100)`)
    .option('--action <action>', 'only this action, e.g. login.failed, user.role, app.deploy')
    .option('--actor <user>', 'only what this user did')
    .option('-a, --app <name>', 'only events about this app')
    .option('--target <target>', 'only events about this target, e.g. user:NAME, group:NAME')
    .option('--before <date>', 'only events before this time (to page back)')
    .option('--json', 'output JSON')
    .action(async (opts: AuditOptions) => {
      const filter = auditFilter(opts);
      const events = await (await ctx.client()).listAudit(filter);
      if (opts.json) return ctx.out(json(events));
      if (events.length === 0) return ctx.out('No audit events match\n');
      ctx.out(heading('Audit log'));
      ctx.out(
        table(
          events.map((e) => [
            e.at,
            e.actor ?? '—',
            e.action,
            e.target ?? '',
            e.ip ?? '',
            detailText(e.detail),
          ]),
          ['Time', 'Actor', 'Action', 'Target', 'IP', 'Detail'],
        ),
      );
    });

  program
    .command('secrets:rotate-key')
    .description('make a new master key and re-encrypt every secret with it (admin)')
    .option('--json', 'output JSON')
    .action(async (opts: { json?: boolean }) => {
      const r = await (await ctx.client()).rotateMasterKey();
      if (opts.json) return ctx.out(json(r));
      ctx.out(
        `Rotated the master key: new key ${r.keyId}, ${r.reencrypted} secret${r.reencrypted === 1 ? '' : 's'} re-encrypted\n`,
      );
    });
}
