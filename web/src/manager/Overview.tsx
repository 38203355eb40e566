/** Overview: status, address, serving release, processes at a glance, the latest events, the git remote. */
import { api, appPath } from '../api/client.js';
import type { AppEvent, ProcessStatus } from '../api/types.js';
import { Link } from '../router.js';
import { Loaded, StatusBadge } from '../ui/components.js';
import { dateTime, timeAgo } from '../ui/format.js';
import { useResource } from '../ui/hooks.js';
import { shortProcess } from './logtext.js';
import { version as v, type TabProps } from './shared.js';

/** `web: 2 running, 1 crashed` per type. */
function summary(processes: ProcessStatus[]): [string, string][] {
  const byType = new Map<string, Map<string, number>>();
  for (const p of processes) {
    const states = byType.get(p.type) ?? new Map<string, number>();
    states.set(p.state, (states.get(p.state) ?? 0) + 1);
    byType.set(p.type, states);
  }
  return [...byType].map(([type, states]) => [
    type,
    [...states].map(([state, n]) => `${n} ${state}`).join(', '),
  ]);
}

export function Overview({ app, version }: TabProps) {
  const events = useResource(
    (signal) => api<{ events: AppEvent[] }>(appPath(app.name, '/events?limit=5'), { signal }),
    [app.name, version],
  );
  const base = `/manage/${encodeURIComponent(app.name)}`;
  const procs = summary(app.processes);
  const url = new URL(app.url, location.origin).href;
  return (
    <div className="m-grid">
      <section className="g-card section" aria-labelledby="ov-status">
        <h2 id="ov-status">Status</h2>
        <dl className="m-facts">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={app.status} />
          </dd>
          <dt>Address</dt>
          <dd>
            <a href={url}>{url}</a>
          </dd>
          <dt>Release</dt>
          <dd>
            {app.currentVersion === null ? (
              <>
                Not deployed yet: <Link href={`${base}/deploys`}>see how to deploy</Link>
              </>
            ) : (
              <>
                {v(app.currentVersion)}
                {app.lastDeployAt && <> · deployed {timeAgo(app.lastDeployAt)}</>}
              </>
            )}
          </dd>
          {app.commit && (
            <>
              <dt>Commit</dt>
              <dd className="mono">{app.commit.slice(0, 12)}</dd>
            </>
          )}
          {(app.framework || app.buildpack) && (
            <>
              <dt>Built as</dt>
              <dd>{[app.framework, app.buildpack].filter(Boolean).join(' · ')}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{dateTime(app.createdAt)}</dd>
        </dl>
      </section>

      <section className="g-card section" aria-labelledby="ov-ps">
        <h2 id="ov-ps">Processes</h2>
        {procs.length === 0 ? (
          <p className="g-hint">
            No processes run{app.status === 'sleeping' ? ': the app sleeps until its next visit' : ''}.
          </p>
        ) : (
          <dl className="m-facts">
            {procs.map(([type, text]) => (
              <div key={type} className="m-fact">
                <dt>{type}</dt>
                <dd>{text}</dd>
              </div>
            ))}
          </dl>
        )}
        <p>
          <Link href={`${base}/processes`}>Scale, limits and sleep</Link>
        </p>
      </section>

      <section className="g-card section" aria-labelledby="ov-events">
        <h2 id="ov-events">Latest events</h2>
        <Loaded resource={events} label="Loading events…">
          {({ events: list }) =>
            list.length === 0 ? (
              <p className="g-hint">Nothing happened yet.</p>
            ) : (
              <ul className="m-list">
                {list.map((e, i) => (
                  <li key={`${e.at}-${i}`}>
                    <span className="g-badge">{e.kind}</span>{' '}
                    {e.process && <span className="mono">{shortProcess(app.name, e.process)}</span>}{' '}
                    {e.message} <span className="g-hint">{timeAgo(e.at)}</span>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
        <p>
          <Link href={`${base}/events`}>All events</Link>
        </p>
      </section>

      <section className="g-card section" aria-labelledby="ov-git">
        <h2 id="ov-git">Git remote</h2>
        <p className="mono m-break">{app.gitUrl}</p>
        <p className="g-hint">
          Push to it to deploy: <code>git push gantry main</code>.{' '}
          <Link href={`${base}/deploys`}>Deploys</Link> shows the build live.
        </p>
      </section>
    </div>
  );
}
