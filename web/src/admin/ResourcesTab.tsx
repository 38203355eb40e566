/** Resources: totals over every app and the busiest apps, refreshed every 10 s while the page is visible. */
import { useEffect } from 'react';
import { api } from '../api/client.js';
import type { ResourceOverview } from '../api/types.js';
import { Link } from '../router.js';
import { Alert, Loaded, StatusBadge } from '../ui/components.js';
import { bytes, ms, percent, timeAgo } from '../ui/format.js';
import { useResource } from '../ui/hooks.js';

const REFRESH_MS = 10_000;

/** Calls `tick` every `everyMs` while the tab is visible, and at once when it becomes visible again. */
function useVisibleInterval(tick: () => void, everyMs: number): void {
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = (): void => {
      if (timer === undefined) timer = setInterval(tick, everyMs);
    };
    const stop = (): void => {
      clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = (): void => {
      if (document.visibilityState === 'visible') {
        tick();
        start();
      } else stop();
    };
    if (document.visibilityState === 'visible') start();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [tick, everyMs]);
}

function rate(n: number): string {
  return n >= 10 ? String(Math.round(n)) : n.toFixed(n === 0 ? 0 : 1);
}

export function ResourcesTab() {
  const overview = useResource((signal) => api<ResourceOverview>('/api/admin/overview', { signal }), []);
  useVisibleInterval(overview.reload, REFRESH_MS);
  return (
    <Loaded resource={overview} label="Loading resources…">
      {(o) => (
        <>
          {/* A failed refresh keeps the last numbers on screen and says why they are stale. */}
          {overview.error && <Alert>Could not refresh: {overview.error.message}</Alert>}
          <Totals overview={o} />
          <Busiest overview={o} />
        </>
      )}
    </Loaded>
  );
}

function Totals({ overview: { totals, at } }: { overview: ResourceOverview }) {
  const cards: { label: string; value: string; sub?: string }[] = [
    {
      label: 'Apps',
      value: String(totals.apps),
      sub: totals.stopped ? `${totals.stopped} stopped` : undefined,
    },
    { label: 'Running', value: String(totals.running) },
    { label: 'Sleeping', value: String(totals.sleeping) },
    { label: 'Processes', value: String(totals.processes) },
    { label: 'CPU', value: percent(totals.cpuPercent), sub: '100% = one core' },
    { label: 'Memory', value: bytes(totals.memoryBytes) },
  ];
  return (
    <section aria-labelledby="admin-totals">
      <h2 id="admin-totals" className="g-sr-only">
        Totals
      </h2>
      <ul className="admin-cards">
        {cards.map((c) => (
          <li key={c.label} className="g-card">
            <span className="admin-card-label">{c.label}</span>
            <span className="admin-card-value">{c.value}</span>
            {c.sub && <span className="g-hint">{c.sub}</span>}
          </li>
        ))}
      </ul>
      <p className="g-hint">Updated {timeAgo(at)}; refreshes every 10 seconds.</p>
    </section>
  );
}

function Busiest({ overview }: { overview: ResourceOverview }) {
  return (
    <section className="section g-card" aria-labelledby="admin-busiest">
      <h2 id="admin-busiest">Busiest apps</h2>
      {overview.apps.length === 0 ? (
        <p>No apps yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="g-table" aria-label="Busiest apps">
            <thead>
              <tr>
                <th scope="col">App</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Processes
                </th>
                <th scope="col" className="num">
                  CPU
                </th>
                <th scope="col" className="num">
                  Memory
                </th>
                <th scope="col" className="num">
                  Req/s
                </th>
                <th scope="col" className="num">
                  p95
                </th>
                <th scope="col" className="num">
                  Errors (1 h)
                </th>
              </tr>
            </thead>
            <tbody>
              {overview.apps.map((a) => (
                <tr key={a.name}>
                  <th scope="row">
                    <Link href={`/manage/${encodeURIComponent(a.name)}`}>{a.name}</Link>
                    {a.owner && <div className="g-hint">{a.owner}</div>}
                  </th>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td className="num">{a.processes}</td>
                  <td className="num">{percent(a.cpuPercent)}</td>
                  <td className="num">{bytes(a.memoryBytes)}</td>
                  <td className="num">{rate(a.rps)}</td>
                  <td className="num">{ms(a.p95Ms)}</td>
                  <td className={`num ${a.errors > 0 ? 'admin-errors' : ''}`}>{a.errors}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
