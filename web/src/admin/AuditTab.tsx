/** Audit log: who did what, newest first, 50 at a time, filtered by exact action, actor or target. */
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { AuditEvent } from '../api/types.js';
import { Alert, Button, Field, Loaded } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { useAction, useResource } from '../ui/hooks.js';

const PAGE = 50;

interface Filters {
  action: string;
  actor: string;
  target: string;
}

interface Page {
  events: AuditEvent[];
  /** A full page came back: there may be older events. */
  more: boolean;
}

function auditUrl(filters: Filters, before?: string): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  for (const [k, v] of Object.entries(filters) as [keyof Filters, string][]) if (v) q.set(k, v);
  if (before) q.set('before', before);
  return `/api/audit?${q.toString()}`;
}

async function fetchPage(filters: Filters, before?: string, signal?: AbortSignal): Promise<Page> {
  const r = await api<{ events: AuditEvent[] }>(auditUrl(filters, before), { signal });
  return { events: r.events, more: r.events.length === PAGE };
}

/** `{version: 3, via: "api"}` → `version=3 via=api`. */
export function compactDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

export function AuditTab() {
  const [draft, setDraft] = useState<Filters>({ action: '', actor: '', target: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const log = useResource((signal) => fetchPage(filters, undefined, signal), [filters]);
  const loadMore = useAction(async () => {
    const current = log.data;
    const last = current?.events.at(-1);
    if (!current || !last) return;
    const next = await fetchPage(filters, last.at);
    log.setData({ events: [...current.events, ...next.events], more: next.more });
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const trimmed = { action: draft.action.trim(), actor: draft.actor.trim(), target: draft.target.trim() };
    // Same filters again: reload, so "Apply" also shows what happened since.
    if (JSON.stringify(trimmed) === JSON.stringify(filters)) log.reload();
    else setFilters(trimmed);
  };
  const field = (key: keyof Filters, label: string, hint: string) => (
    <Field label={label} hint={hint}>
      {(id, describedBy) => (
        <input
          id={id}
          className="g-input"
          autoComplete="off"
          aria-describedby={describedBy}
          value={draft[key]}
          onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
        />
      )}
    </Field>
  );
  return (
    <section className="section g-card" aria-labelledby="admin-audit">
      <h2 id="admin-audit">Audit log</h2>
      <form onSubmit={submit} role="search" aria-label="Filter the audit log">
        <div className="row form-top">
          {field('action', 'Action', 'Exact, e.g. user.role or app.deploy')}
          {field('actor', 'Actor', 'A username')}
          {field('target', 'Target', 'e.g. app:hello or user:alice')}
          <div className="g-field form-submit">
            <Button type="submit" kind="primary" busy={log.loading && log.data !== undefined}>
              Apply filters
            </Button>
          </div>
        </div>
      </form>
      <Loaded resource={log} label="Loading the audit log…">
        {(page) => (
          <>
            {log.error && <Alert>{log.error.message}</Alert>}
            {page.events.length === 0 ? (
              <p>
                No events{filters.action || filters.actor || filters.target ? ' match these filters' : ''}.
              </p>
            ) : (
              <AuditTable events={page.events} />
            )}
            <Alert>{loadMore.error}</Alert>
            {page.more && (
              <Button busy={loadMore.busy} onClick={() => void loadMore.run()}>
                Load more
              </Button>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

function AuditTable({ events }: { events: AuditEvent[] }) {
  return (
    <div className="table-wrap">
      <table className="g-table" aria-label="Audit log">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id}>
              <td className="admin-nowrap" title={e.at}>
                <time dateTime={e.at}>{dateTime(e.at)}</time>
                <div className="g-hint">{timeAgo(e.at)}</div>
              </td>
              <td>
                {e.actor ?? <span className="g-hint">—</span>}
                {e.ip && <div className="g-hint mono">{e.ip}</div>}
              </td>
              <td className="mono">{e.action}</td>
              <td className="mono">{e.target ?? '—'}</td>
              <td className="mono admin-wrap">{compactDetail(e.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
